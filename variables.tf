# --- naming and tags ----------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every name this module creates (function, role, layers, stream, queue, bucket, sink), so several teams or environments can share one account."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (it also prefixes the S3 bucket name)."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource."
  type        = map(string)
  default     = {}
}

# --- artifacts: the manifest, or explicit inputs ------------------------------------------

variable "manifest_path" {
  description = "Path of dist/manifest.json written by `mlayer build all`; artifact paths in it are relative to its directory. null to pass deps_layer, function_package and model_layers instead."
  type        = string
  default     = null

  validation {
    condition     = var.manifest_path == null || endswith(coalesce(var.manifest_path, "x"), ".json")
    error_message = "manifest_path must point at the manifest.json written by `mlayer build all`."
  }
}

variable "deps_layer" {
  description = "Explicit dependencies layer artifact, overriding the manifest's `deps`: zip path, hex and base64 SHA-256, and the runtime and architecture it was built for."
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
  description = "Explicit lean dependencies layer artifact (numpy + mmh3, for models whose deps_layer is \"lean\"), overriding the manifest's `deps_lean`: zip path, hex and base64 SHA-256, and the runtime and architecture it was built for. Published only while some model needs it."
  type = object({
    file          = string
    sha256        = string
    sha256_base64 = string
    runtime       = string
    architecture  = string
  })
  default = null

  validation {
    condition     = var.lean_deps_layer == null || try(var.lean_deps_layer.architecture, "") == "x86_64"
    error_message = "lean_deps_layer.architecture must be x86_64: lean models are proven bit-identical to scikit-learn on x86_64 only (build arm64 models with --predictor sklearn)."
  }
}

variable "function_package" {
  description = "Explicit function zip artifact, overriding the manifest's `function`: zip path, hex and base64 SHA-256."
  type = object({
    file          = string
    sha256        = string
    sha256_base64 = string
  })
  default = null
}

variable "model_layers" {
  description = "Explicit model layer artifacts keyed \"NAME/VERSION\", overriding the manifest's `models`: zip path, hex and base64 SHA-256, and the deps layer the model is served with (deps_layer: \"sklearn\", the default, or \"lean\", which needs lean_deps_layer or the manifest's `deps_lean`)."
  type = map(object({
    file          = string
    sha256        = string
    sha256_base64 = string
    deps_layer    = optional(string, "sklearn")
  }))
  default = null

  validation {
    condition     = var.model_layers == null ? true : alltrue([for key in keys(var.model_layers) : can(regex("^[^/]+/[^/]+$", key))])
    error_message = "model_layers keys must be \"NAME/VERSION\", as in the manifest."
  }

  validation {
    condition     = var.model_layers == null ? true : alltrue([for model in values(var.model_layers) : contains(["sklearn", "lean"], model.deps_layer)])
    error_message = "model_layers deps_layer must be \"sklearn\" (the default) or \"lean\"."
  }
}

# --- the model ----------------------------------------------------------------------------

variable "model_name" {
  description = "Name of the model to serve (the NAME in the manifest's \"NAME/VERSION\" keys)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,63}$", var.model_name))
    error_message = "model_name must be 1-64 letters, digits, hyphens or underscores, starting with a letter (it becomes part of a Lambda layer name, which allows no dots); the same rule as `mlayer model add`."
  }
}

variable "model_version" {
  description = "Version of the model to serve, e.g. 20190104v1. Changing it publishes a new model layer version and function version and moves the alias; nothing else changes. Changing it back is a rollback."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.model_version))
    error_message = "model_version must be 1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit (e.g. 20190104v1); the same rule as `mlayer model add`."
  }
}

variable "canary_model_version" {
  description = "Canary: a second model version to try on canary_weight of invocations. The apply publishes a function version with it, and the alias keeps stable_function_version for the rest. null for no canary."
  type        = string
  default     = null

  validation {
    condition     = var.canary_model_version == null || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.canary_model_version))
    error_message = "canary_model_version must be 1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit."
  }
}

variable "canary_weight" {
  description = "Canary: share of invocations (0-1) the alias sends to the canary version."
  type        = number
  default     = 0.1

  validation {
    condition     = var.canary_weight >= 0 && var.canary_weight <= 1
    error_message = "canary_weight must be between 0 and 1 (e.g. 0.1 for 10%)."
  }
}

variable "stable_function_version" {
  description = "Canary: the published function version serving model_version, which keeps the rest of the traffic (the `live_function_version` output before the canary started; `mlayer deploy --canary-model-version` fills it in)."
  type        = string
  default     = null

  validation {
    condition     = var.stable_function_version == null || can(regex("^[0-9]+$", var.stable_function_version))
    error_message = "stable_function_version must be a published version number such as \"7\"."
  }
}

# --- the handler's record format ----------------------------------------------------------

variable "record_format" {
  description = "How the handler reads a record: json (a JSON object holding text_field) or text (the record bytes are the text)."
  type        = string
  default     = "json"

  validation {
    condition     = contains(["json", "text"], var.record_format)
    error_message = "record_format must be json or text."
  }
}

variable "text_field" {
  description = "Field of a json record holding the text to classify."
  type        = string
  default     = "textblob"

  validation {
    condition     = length(var.text_field) > 0
    error_message = "text_field must not be empty."
  }
}

variable "text_field_json_encoded" {
  description = "Whether text_field's value is itself a JSON-encoded string (the shape the original article's producers send)."
  type        = bool
  default     = true
}

# --- the function -------------------------------------------------------------------------

variable "runtime" {
  description = "Lambda runtime; must equal the runtime the deps layer was built for (manifest deps.runtime)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set architecture; must equal the deps layer's (manifest deps.architecture)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Function memory in MB (128-10240); CPU scales with it, so it also sets prediction speed."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (1-900); leave room for a cold start (model load) plus one batch."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; null leaves it unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "environment_variables" {
  description = "Extra environment variables for the handler. The module's own (MODEL_*, RECORD_FORMAT, TEXT_FIELD*, INVALID_RECORDS, SINK*) cannot be overridden here."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key in keys(var.environment_variables) :
      can(regex("^[A-Za-z][A-Za-z0-9_]*$", key)) && !startswith(key, "AWS_") && !startswith(key, "SINK") &&
      !contains(["MODEL_DIR", "MODEL_NAME", "MODEL_VERSION", "RECORD_FORMAT", "TEXT_FIELD", "TEXT_FIELD_JSON_ENCODED"], key)
    ])
    error_message = "environment_variables keys must be letters, digits and underscores, must not start with AWS_ (reserved by Lambda) and must not be one the module sets (MODEL_DIR, MODEL_NAME, MODEL_VERSION, RECORD_FORMAT, TEXT_FIELD, TEXT_FIELD_JSON_ENCODED, SINK*): use the dedicated variables."
  }
}

variable "additional_layer_arns" {
  description = "Extra layer version ARNs (e.g. an extension), placed between the deps layer and the model layer; at most 3."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.additional_layer_arns) <= 3 && alltrue([for arn in var.additional_layer_arns : can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$", arn))])
    error_message = "additional_layer_arns must hold at most 3 layer version ARNs (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION): Lambda allows 5 layers and 2 are the deps and model layers."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: PassThrough or Active (Active also grants the role xray:PutTraceSegments)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group in days (0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of CloudWatch's values: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "vpc_subnet_ids" {
  description = "Subnets to run the function in (with vpc_security_group_ids); empty runs it outside a VPC. In a VPC it needs endpoints or NAT to reach Kinesis, SQS and the sink."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function's network interfaces when vpc_subnet_ids is set."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the execution role, where the account requires one."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

# --- encryption ---------------------------------------------------------------------------

variable "kms_key_arn" {
  description = "One customer managed KMS key for everything this module creates (bucket, stream, failure queue, sink table or stream, function environment). null uses AWS managed encryption everywhere."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key for the function's log group (its key policy must allow logs.REGION.amazonaws.com). null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "additional_kms_key_arns" {
  description = "Customer managed keys protecting resources given to the module (an existing stream, sink table, stream or bucket) that the function must decrypt or write with."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.additional_kms_key_arns : can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "additional_kms_key_arns must hold KMS key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID), not aliases."
  }
}

# --- the artifact bucket ------------------------------------------------------------------

variable "create_artifact_bucket" {
  description = "Create the artifact bucket (true) or upload to the existing artifact_bucket_name (false)."
  type        = bool
  default     = true
}

variable "artifact_bucket_name" {
  description = "Existing bucket to upload artifacts to (create_artifact_bucket = false), or an exact name for the new one. null generates NAME_PREFIX-artifacts-UNIQUE."
  type        = string
  default     = null

  validation {
    condition     = var.artifact_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_name))
    error_message = "artifact_bucket_name must be a valid S3 bucket name."
  }
}

variable "artifact_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the created artifact bucket with everything in it."
  type        = bool
  default     = false
}

variable "artifact_noncurrent_version_expiration_days" {
  description = "Days a replaced object version is kept in the created artifact bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.artifact_noncurrent_version_expiration_days >= 1 && floor(var.artifact_noncurrent_version_expiration_days) == var.artifact_noncurrent_version_expiration_days
    error_message = "artifact_noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "artifact_bucket_access_logging" {
  description = "Write the created artifact bucket's server access logs to artifact_bucket_access_log_bucket."
  type        = bool
  default     = false
}

variable "artifact_bucket_access_log_bucket" {
  description = "Bucket receiving server access logs of the created artifact bucket when artifact_bucket_access_logging is true (it may be created in the same configuration)."
  type        = string
  default     = null

  validation {
    condition     = var.artifact_bucket_access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_access_log_bucket))
    error_message = "artifact_bucket_access_log_bucket must be a valid S3 bucket name."
  }
}

# --- the source stream and the trigger ----------------------------------------------------

variable "create_stream" {
  description = "Create the source Kinesis stream (true) or read the existing stream_arn (false)."
  type        = bool
  default     = true
}

variable "stream_arn" {
  description = "Existing source stream when create_stream = false."
  type        = string
  default     = null

  validation {
    condition     = var.stream_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.stream_arn))
    error_message = "stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}

variable "stream_mode" {
  description = "Capacity mode of the created stream: ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "stream_shard_count" {
  description = "Shards of the created stream when stream_mode = PROVISIONED."
  type        = number
  default     = 1

  validation {
    condition     = var.stream_shard_count >= 1 && floor(var.stream_shard_count) == var.stream_shard_count
    error_message = "stream_shard_count must be a whole number >= 1."
  }
}

variable "stream_retention_hours" {
  description = "Hours the created stream keeps records (24-8760)."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760 && floor(var.stream_retention_hours) == var.stream_retention_hours
    error_message = "stream_retention_hours must be a whole number of hours from 24 to 8760."
  }
}

variable "use_enhanced_fan_out" {
  description = "Read the stream through a dedicated enhanced fan-out consumer."
  type        = bool
  default     = false
}

variable "trigger_enabled" {
  description = "Whether the event source mapping polls; false pauses processing and keeps the position."
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
  description = "Seconds to gather records before invoking (0-300)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "starting_position" {
  description = "Where a new mapping starts reading: LATEST, TRIM_HORIZON or AT_TIMESTAMP."
  type        = string
  default     = "LATEST"

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"], var.starting_position)
    error_message = "starting_position must be LATEST, TRIM_HORIZON or AT_TIMESTAMP."
  }
}

variable "starting_position_timestamp" {
  description = "RFC 3339 timestamp for starting_position = AT_TIMESTAMP."
  type        = string
  default     = null

  validation {
    condition     = var.starting_position_timestamp == null || can(formatdate("YYYY", var.starting_position_timestamp))
    error_message = "starting_position_timestamp must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1-10)."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry the halves, isolating bad records."
  type        = bool
  default     = true
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its records go to the failure queue (-1 = until they expire, up to 10000)."
  type        = number
  default     = 3

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be a whole number from -1 to 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this go to the failure queue unprocessed (-1 = never, or 60-604800)."
  type        = number
  default     = 86400

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or from 60 to 604800."
  }
}

variable "function_response_types" {
  description = "[\"ReportBatchItemFailures\"] (default) retries only the records the handler reports as failed; [] retries the whole batch on any error."
  type        = list(string)
  default     = ["ReportBatchItemFailures"]

  validation {
    condition     = alltrue([for t in var.function_response_types : t == "ReportBatchItemFailures"])
    error_message = "function_response_types may only hold \"ReportBatchItemFailures\"."
  }
}

variable "failure_queue_message_retention_seconds" {
  description = "How long the failure queue keeps failed-batch records (60-1209600 seconds)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_message_retention_seconds >= 60 && var.failure_queue_message_retention_seconds <= 1209600 && floor(var.failure_queue_message_retention_seconds) == var.failure_queue_message_retention_seconds
    error_message = "failure_queue_message_retention_seconds must be a whole number from 60 to 1209600."
  }
}

# --- the sink -----------------------------------------------------------------------------

variable "sink" {
  description = "Where the handler writes predictions: none, s3, dynamodb or kinesis."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "s3", "dynamodb", "kinesis"], var.sink)
    error_message = "sink must be none, s3, dynamodb or kinesis."
  }
}

variable "invalid_records" {
  description = "What the handler does with a record that can never be decoded (bad base64, not UTF-8 or JSON, no text, too large): report returns it in batchItemFailures, so Lambda retries the batch from it up to maximum_retry_attempts, then sends the batch to the failure queue; dead-letter writes it to the sink as a dead-letter entry (raw bytes and reason: s3 under sink_s3_prefix + \"_invalid/\", dynamodb with status \"invalid\", kinesis with \"invalid\": true) and does not report it. dead-letter needs sink other than none. null (the default) means dead-letter when a sink is configured (a bad record then costs one write instead of retries of its whole batch) and report otherwise, the handler's own default."
  type        = string
  default     = null

  validation {
    condition     = var.invalid_records == null || contains(["report", "dead-letter"], coalesce(var.invalid_records, "report"))
    error_message = "invalid_records must be report, dead-letter or null (dead-letter with a sink, report without)."
  }
}

variable "sink_s3_bucket_name" {
  description = "Bucket for sink = s3; null writes into the artifact bucket."
  type        = string
  default     = null

  validation {
    condition     = var.sink_s3_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.sink_s3_bucket_name))
    error_message = "sink_s3_bucket_name must be a valid S3 bucket name."
  }
}

variable "sink_s3_prefix" {
  description = "Key prefix for sink = s3; the role may write below it only."
  type        = string
  default     = "predictions/"

  validation {
    condition     = !startswith(var.sink_s3_prefix, "/") && endswith(var.sink_s3_prefix, "/")
    error_message = "sink_s3_prefix must not start with '/' and must end with '/', e.g. \"predictions/\"."
  }

  validation {
    # The S3 sink defaults to the artifact bucket: a prefix over the layer or function zips would
    # let the function overwrite its own code (s3:PutObject below the prefix).
    condition     = !startswith(var.sink_s3_prefix, "layers/") && !startswith(var.sink_s3_prefix, "functions/")
    error_message = "sink_s3_prefix must not be under layers/ or functions/, where the artifact bucket keeps the layer and function zips: use e.g. \"predictions/\"."
  }
}

variable "sink_create_dynamodb_table" {
  description = "For sink = dynamodb: create NAME_PREFIX-predictions (true) or use sink_dynamodb_table_arn (false)."
  type        = bool
  default     = true
}

variable "sink_dynamodb_table_arn" {
  description = "Existing table for sink = dynamodb with sink_create_dynamodb_table = false (partition key eventID, string: what the handler writes)."
  type        = string
  default     = null

  validation {
    condition     = var.sink_dynamodb_table_arn == null || can(regex("^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]+$", var.sink_dynamodb_table_arn))
    error_message = "sink_dynamodb_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}

variable "sink_dynamodb_deletion_protection" {
  description = "Protect a created sink table from deletion."
  type        = bool
  default     = true
}

variable "sink_create_kinesis_stream" {
  description = "For sink = kinesis: create NAME_PREFIX-predictions (true) or use sink_kinesis_stream_arn (false)."
  type        = bool
  default     = true
}

variable "sink_kinesis_stream_arn" {
  description = "Existing output stream for sink = kinesis with sink_create_kinesis_stream = false."
  type        = string
  default     = null

  validation {
    condition     = var.sink_kinesis_stream_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$", var.sink_kinesis_stream_arn))
    error_message = "sink_kinesis_stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)."
  }
}
