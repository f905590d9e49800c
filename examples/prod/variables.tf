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
  description = "Prefix of every resource name."
  type        = string
  default     = "mlayer-prod"
}

variable "model_name" {
  description = "Model to serve (NAME in the manifest's NAME/VERSION keys)."
  type        = string
  default     = "MyModel"
}

variable "model_version" {
  description = "Model version to serve. No default: a production deploy names its model (`mlayer deploy --env prod --model-version V`); changing it back is the rollback."
  type        = string
}

variable "canary_model_version" {
  description = "Model version to canary on canary_weight of the traffic; null for none."
  type        = string
  default     = null
}

variable "canary_weight" {
  description = "Share of invocations (0-1) sent to the canary."
  type        = number
  default     = 0.1
}

variable "stable_function_version" {
  description = "Published version serving model_version during a canary (the live_function_version output before it started)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags merged over the prod defaults."
  type        = map(string)
  default     = {}
}
