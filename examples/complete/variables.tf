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

# --- every module input, with values that exercise the options --------------------------

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "mlayer-complete"
}

variable "tags" {
  description = "Tags applied to every taggable resource."
  type        = map(string)
  default     = { Environment = "example", Application = "mlayer" }
}

variable "deps_layer" {
  description = "Explicit deps layer artifact instead of the manifest's (see the root module)."
  type = object({
    file          = string
    sha256        = string
    sha256_base64 = string
    runtime       = string
    architecture  = string
  })
  default = null
}

variable "lean_deps_layer" {
  description = "Explicit lean deps layer artifact (numpy + mmh3, for lean models) instead of the manifest's deps_lean (see the root module)."
  type = object({
    file          = string
    sha256        = string
    sha256_base64 = string
    runtime       = string
    architecture  = string
  })
  default = null
}

variable "function_package" {
  description = "Explicit function zip artifact instead of the manifest's."
  type = object({
    file          = string
    sha256        = string
    sha256_base64 = string
  })
  default = null
}

variable "model_layers" {
  description = "Explicit model layer artifacts keyed NAME/VERSION instead of the manifest's, each with the deps layer it needs (sklearn or lean)."
  type = map(object({
    file          = string
    sha256        = string
    sha256_base64 = string
    deps_layer    = optional(string, "sklearn")
  }))
  default = null
}

variable "model_name" {
  description = "Model to serve."
  type        = string
  default     = "MyModel"
}

variable "model_version" {
  description = "Model version to serve."
  type        = string
  default     = "20190104v1"
}

variable "canary_model_version" {
  description = "Model version to canary; null for none."
  type        = string
  default     = null
}

variable "canary_weight" {
  description = "Share of invocations sent to the canary."
  type        = number
  default     = 0.05
}

variable "stable_function_version" {
  description = "Published version serving model_version during a canary."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime (must match the manifest's deps.runtime)."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "Instruction set architecture (must match the manifest's deps.architecture)."
  type        = string
  default     = "x86_64"
}

variable "additional_layer_arns" {
  description = "Extra layer version ARNs, e.g. a monitoring extension."
  type        = list(string)
  default     = []
}

variable "vpc_subnet_ids" {
  description = "Subnets to run the function in; empty for no VPC."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups for the function in a VPC."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the execution role; null for none."
  type        = string
  default     = null
}

variable "additional_kms_key_arns" {
  description = "Keys of existing encrypted resources the function must use."
  type        = list(string)
  default     = []
}

variable "artifact_bucket_access_log_bucket" {
  description = "Existing bucket for the artifact bucket's access logs; null for none."
  type        = string
  default     = null
}

variable "use_enhanced_fan_out" {
  description = "Read the stream through an enhanced fan-out consumer."
  type        = bool
  default     = true
}

variable "sink" {
  description = "Where predictions go: none, s3, dynamodb or kinesis."
  type        = string
  default     = "dynamodb"
}
