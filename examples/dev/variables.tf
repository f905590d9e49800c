variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as us-east-1."
  }
}

variable "aws_endpoint_url" {
  description = "Send every AWS call to this endpoint instead of AWS (a local moto server, e.g. http://127.0.0.1:5000). null (default) uses real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be an http:// or https:// URL, or null."
  }
}

variable "manifest_path" {
  description = "Path of the manifest `mlayer build all` writes (relative to this directory)."
  type        = string
  default     = "../../dist/manifest.json"
}

variable "name_prefix" {
  description = "Prefix of every resource name; give each developer or team its own to share an account."
  type        = string
  default     = "mlayer-dev"
}

variable "model_name" {
  description = "Model to serve (NAME in the manifest's NAME/VERSION keys)."
  type        = string
  default     = "MyModel"
}

variable "model_version" {
  description = "Model version to serve; dev follows the demo model by default."
  type        = string
  default     = "20190104v1"
}

variable "tags" {
  description = "Extra tags merged over the dev defaults."
  type        = map(string)
  default     = {}
}

variable "sink" {
  description = "Where predictions go: none (dev's default), s3 (under predictions/ in the artifact bucket), dynamodb or kinesis (created, deletable)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "s3", "dynamodb", "kinesis"], var.sink)
    error_message = "sink must be none, s3, dynamodb or kinesis."
  }
}
