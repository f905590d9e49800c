"""mlayer: reproducible Lambda layers for scikit-learn inference, a local Lambda runtime, and Terraform deploys."""

__version__ = "0.1.0"
