"""AMI selection engine."""
