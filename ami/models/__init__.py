"""Data models of the AMI engine: candidature files, campaigns, the lifecycle machine, messages."""
