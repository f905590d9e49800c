variable "role_name" {
  description = "Name of the execution role (and of its inline policy)."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "IAM path of the role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]+/)?$", var.role_path))
    error_message = "role_path must start and end with '/', e.g. \"/\" or \"/mlayer/\"."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary policy to attach to the role, where the account requires one. null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "log_group_arn" {
  description = "ARN of the function's log group (without the trailing :*); the role may write log streams there only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[^*]+$", var.log_group_arn))
    error_message = "log_group_arn must be a log group ARN without the trailing :* (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)."
  }
}

variable "source_stream_arn" {
  description = "ARN of the Kinesis stream the function reads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.source_stream_arn))
    error_message = "source_stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "stream_consumer_arn" {
  description = "ARN of the enhanced fan-out consumer when the mapping uses one; null otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.stream_consumer_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+/consumer/.+$", var.stream_consumer_arn))
    error_message = "stream_consumer_arn must be a Kinesis stream consumer ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME/consumer/CONSUMER:TIMESTAMP)."
  }
}

variable "failure_queue_arn" {
  description = "ARN of the SQS queue receiving failed batches (the mapping's on-failure destination)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]+(\\.fifo)?$", var.failure_queue_arn))
    error_message = "failure_queue_arn must be an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)."
  }
}

variable "sink" {
  description = "Where the handler writes predictions: none, s3, dynamodb or kinesis."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "s3", "dynamodb", "kinesis"], var.sink)
    error_message = "sink must be none, s3, dynamodb or kinesis."
  }
}

variable "sink_s3_bucket_arn" {
  description = "ARN of the sink bucket (sink = s3)."
  type        = string
  default     = null

  validation {
    condition     = var.sink_s3_bucket_arn == null || can(regex("^arn:aws[a-zA-Z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.sink_s3_bucket_arn))
    error_message = "sink_s3_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::NAME)."
  }
}

variable "sink_s3_prefix" {
  description = "Key prefix the handler writes under (sink = s3); the role may put objects below it only."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.sink_s3_prefix, "/") && !strcontains(var.sink_s3_prefix, "*")
    error_message = "sink_s3_prefix must not start with '/' or contain '*' (the role may write below it only)."
  }
}

variable "sink_dynamodb_table_arn" {
  description = "ARN of the sink table (sink = dynamodb)."
  type        = string
  default     = null

  validation {
    condition     = var.sink_dynamodb_table_arn == null || can(regex("^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]+$", var.sink_dynamodb_table_arn))
    error_message = "sink_dynamodb_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}

variable "sink_kinesis_stream_arn" {
  description = "ARN of the output stream (sink = kinesis)."
  type        = string
  default     = null

  validation {
    condition     = var.sink_kinesis_stream_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.sink_kinesis_stream_arn))
    error_message = "sink_kinesis_stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys protecting the stream, queue or sink; the role may use them to decrypt and to generate data keys. AWS managed keys need no grant."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.kms_key_arns : can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "kms_key_arns must hold KMS key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID), not aliases."
  }
}

variable "tracing_enabled" {
  description = "Whether the function sends X-Ray traces (tracing_mode Active)."
  type        = bool
  default     = false
}

variable "vpc_enabled" {
  description = "Whether the function is attached to a VPC (it then manages its own network interfaces)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to the role."
  type        = map(string)
  default     = {}
}
