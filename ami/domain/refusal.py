"""A rule's refusal: a French message for the person who asked. Workflows turn it into an
`ApplicationError` in their update validators; pure code and tests use it as it is."""


class Refusal(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
