variable "name" {
  description = "Name stem for what this module creates: NAME-predictions (DynamoDB table or Kinesis stream)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, dots, hyphens or underscores."
  }
}

variable "kind" {
  description = "Where the handler writes predictions: none, s3, dynamodb or kinesis."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "s3", "dynamodb", "kinesis"], var.kind)
    error_message = "kind must be none, s3, dynamodb or kinesis."
  }
}

variable "s3_bucket_name" {
  description = "Bucket for kind = s3 (the root module passes the artifact bucket unless told otherwise)."
  type        = string
  default     = null
}

variable "s3_prefix" {
  description = "Key prefix the handler writes predictions under for kind = s3."
  type        = string
  default     = "predictions/"

  validation {
    condition     = !startswith(var.s3_prefix, "/") && (var.s3_prefix == "" || endswith(var.s3_prefix, "/"))
    error_message = "s3_prefix must not start with '/' and must end with '/' (or be empty), e.g. \"predictions/\"."
  }
}

variable "create_dynamodb_table" {
  description = "For kind = dynamodb: create NAME-predictions (true) or write to dynamodb_table_arn (false)."
  type        = bool
  default     = true
}

variable "dynamodb_table_arn" {
  description = "Existing table for kind = dynamodb with create_dynamodb_table = false."
  type        = string
  default     = null

  validation {
    condition     = var.dynamodb_table_arn == null || can(regex("^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]+$", var.dynamodb_table_arn))
    error_message = "dynamodb_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}

variable "create_kinesis_stream" {
  description = "For kind = kinesis: create NAME-predictions (true) or write to kinesis_stream_arn (false)."
  type        = bool
  default     = true
}

variable "kinesis_stream_arn" {
  description = "Existing output stream for kind = kinesis with create_kinesis_stream = false."
  type        = string
  default     = null

  validation {
    condition     = var.kinesis_stream_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.kinesis_stream_arn))
    error_message = "kinesis_stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for a created table or stream. null uses AWS managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "deletion_protection" {
  description = "Protect a created DynamoDB table from deletion (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to a created table or stream."
  type        = map(string)
  default     = {}
}
