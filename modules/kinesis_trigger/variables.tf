variable "name" {
  description = "Name stem for what this module creates: the stream (NAME-records unless stream_name is set), the consumer and the failure queue (NAME-failed-batches)."
  type        = string

  validation {
    # No dots: the failure queue (NAME-failed-batches) is an SQS name, which allows none.
    condition     = can(regex("^[a-zA-Z0-9_-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, hyphens or underscores (no dots: SQS queue names allow none)."
  }
}

variable "function_name" {
  description = "What the mapping invokes: the ARN of the function's alias (never a bare function or a version, so a model change never touches the mapping)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+:[a-zA-Z][a-zA-Z0-9_-]*$", var.function_name))
    error_message = "function_name must be an alias ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME:ALIAS): invoking the alias keeps the mapping unchanged when the version moves."
  }
}

# --- the stream ---------------------------------------------------------------------------

variable "create_stream" {
  description = "Create the source stream (true) or read the existing stream_arn (false)."
  type        = bool
  default     = true
}

variable "stream_name" {
  description = "Name of the stream to create; null names it NAME-records."
  type        = string
  default     = null

  validation {
    condition     = var.stream_name == null || can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.stream_name))
    error_message = "stream_name must be 1-128 letters, digits, dots, hyphens or underscores."
  }
}

variable "stream_arn" {
  description = "ARN of an existing stream to read when create_stream = false."
  type        = string
  default     = null

  validation {
    condition     = var.stream_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.stream_arn))
    error_message = "stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "stream_mode" {
  description = "Capacity mode of a created stream: ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Shards of a created PROVISIONED stream (ignored for ON_DEMAND)."
  type        = number
  default     = 1

  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number >= 1."
  }
}

variable "retention_period" {
  description = "Hours a created stream keeps records (24-8760)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_period >= 24 && var.retention_period <= 8760 && floor(var.retention_period) == var.retention_period
    error_message = "retention_period must be a whole number of hours from 24 to 8760."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the created stream and failure queue. null uses alias/aws/kinesis and SQS-managed encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "use_enhanced_fan_out" {
  description = "Read through a dedicated enhanced fan-out consumer (own 2 MB/s per shard, lower latency, extra cost) instead of shared GetRecords polling."
  type        = bool
  default     = false
}

# --- the event source mapping -------------------------------------------------------------

variable "enabled" {
  description = "Whether the mapping polls (false pauses processing without losing the position)."
  type        = bool
  default     = true
}

variable "batch_size" {
  description = "Most records per invocation (1-10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds to gather records before invoking (0-300); 0 invokes as soon as records arrive."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "starting_position" {
  description = "Where a new mapping starts reading: LATEST, TRIM_HORIZON or AT_TIMESTAMP (with starting_position_timestamp)."
  type        = string
  default     = "LATEST"

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"], var.starting_position)
    error_message = "starting_position must be LATEST, TRIM_HORIZON or AT_TIMESTAMP."
  }
}

variable "starting_position_timestamp" {
  description = "RFC 3339 timestamp to start from when starting_position = AT_TIMESTAMP."
  type        = string
  default     = null

  validation {
    condition     = var.starting_position_timestamp == null || can(formatdate("YYYY", var.starting_position_timestamp))
    error_message = "starting_position_timestamp must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1-10); records with the same partition key stay in order."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry each half, isolating bad records."
  type        = bool
  default     = true
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before it goes to the failure queue (-1 = until the record expires, up to 10000)."
  type        = number
  default     = 3

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be a whole number from -1 to 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are skipped to the failure queue (-1 = never, or 60-604800)."
  type        = number
  default     = 86400

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or from 60 to 604800."
  }
}

variable "function_response_types" {
  description = "[\"ReportBatchItemFailures\"] lets the handler return the failed records (batchItemFailures) so only those are retried; [] treats any error as a failed batch."
  type        = list(string)
  default     = ["ReportBatchItemFailures"]

  validation {
    condition     = alltrue([for t in var.function_response_types : t == "ReportBatchItemFailures"])
    error_message = "function_response_types may only hold \"ReportBatchItemFailures\"."
  }
}

variable "tumbling_window_in_seconds" {
  description = "Tumbling window for stateful aggregation (0-900 seconds); null disables it."
  type        = number
  default     = null

  validation {
    condition     = var.tumbling_window_in_seconds == null ? true : var.tumbling_window_in_seconds >= 0 && var.tumbling_window_in_seconds <= 900
    error_message = "tumbling_window_in_seconds must be null or from 0 to 900."
  }
}

# --- the failure destination --------------------------------------------------------------

variable "failure_queue_message_retention_seconds" {
  description = "How long the failure queue keeps the records of failed batches (60-1209600 seconds; default 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_message_retention_seconds >= 60 && var.failure_queue_message_retention_seconds <= 1209600 && floor(var.failure_queue_message_retention_seconds) == var.failure_queue_message_retention_seconds
    error_message = "failure_queue_message_retention_seconds must be a whole number from 60 to 1209600."
  }
}

variable "tags" {
  description = "Tags applied to the created stream and the failure queue."
  type        = map(string)
  default     = {}
}
