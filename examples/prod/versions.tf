terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.76, < 7.0"
    }
  }
}

# With aws_endpoint_url unset (the default) every setting below is the provider's default
# and this talks to real AWS with the usual credential chain. Set it (for example to a local
# moto server on 127.0.0.1) to send every service call there instead.
provider "aws" {
  region = var.aws_region

  skip_credentials_validation = var.aws_endpoint_url != null
  skip_metadata_api_check     = var.aws_endpoint_url != null
  s3_use_path_style           = var.aws_endpoint_url != null

  endpoints {
    dynamodb = var.aws_endpoint_url
    iam      = var.aws_endpoint_url
    kinesis  = var.aws_endpoint_url
    kms      = var.aws_endpoint_url
    lambda   = var.aws_endpoint_url
    logs     = var.aws_endpoint_url
    s3       = var.aws_endpoint_url
    sqs      = var.aws_endpoint_url
    sts      = var.aws_endpoint_url
  }
}
