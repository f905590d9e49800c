variable "function_name" {
  description = "Name of the Lambda function; its log group is /aws/lambda/NAME."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description of the function (at most 256 characters)."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "role_arn" {
  description = "ARN of the execution role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "handler" {
  description = "Handler entry point, MODULE.FUNCTION."
  type        = string
  default     = "lambda_function.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must look like module.function, e.g. lambda_function.lambda_handler."
  }
}

variable "runtime" {
  description = "Lambda runtime; must match the runtime the layers were built for."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set architecture: x86_64 or arm64; must match the deps layer's."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (128-10240); CPU is allocated in proportion."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "layers" {
  description = "Layer version ARNs in extraction order (a later layer overwrites an earlier one in /opt); at most 5."
  type        = list(string)

  validation {
    condition     = length(var.layers) <= 5
    error_message = "A Lambda function can use at most 5 layers."
  }
}

variable "s3_bucket" {
  description = "Bucket holding the function zip (with s3_key). Set either s3_bucket + s3_key or filename."
  type        = string
  default     = null

  validation {
    condition     = var.s3_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.s3_bucket))
    error_message = "s3_bucket must be a valid S3 bucket name."
  }
}

variable "s3_key" {
  description = "Key of the function zip in s3_bucket."
  type        = string
  default     = null
}

variable "filename" {
  description = "Local path of the function zip, uploaded directly (at most 50 MB zipped). Alternative to s3_bucket + s3_key."
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the function zip (manifest function.sha256_base64); a change publishes new code."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.source_code_hash))
    error_message = "source_code_hash must be a base64 SHA-256 (44 characters ending in '=')."
  }
}

variable "environment_variables" {
  description = "Environment of the function (the root module merges the model, record format, INVALID_RECORDS and sink settings into it)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", key)) && !startswith(key, "AWS_")])
    error_message = "environment_variables keys must be letters, digits and underscores, starting with a letter, and must not start with AWS_ (reserved by Lambda)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency for the function; null leaves it unreserved, 0 stops all invocations. Kinesis concurrency is shards x parallelization_factor anyway."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: PassThrough (trace only when the caller sampled) or Active."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the environment variables at rest. null uses the Lambda service key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
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

variable "log_kms_key_arn" {
  description = "KMS key encrypting the log group. null uses CloudWatch Logs' own encryption. The key policy must allow the logs service principal."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "vpc_subnet_ids" {
  description = "Subnets to attach the function to (with vpc_security_group_ids); empty runs it outside a VPC."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups for the function's network interfaces when vpc_subnet_ids is set."
  type        = list(string)
  default     = []
}

variable "alias_name" {
  description = "Name of the alias the event source mapping invokes."
  type        = string
  default     = "live"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,127}$", var.alias_name)) && !can(regex("^[0-9]+$", var.alias_name))
    error_message = "alias_name must start with a letter and hold 1-128 letters, digits, hyphens or underscores."
  }
}

variable "stable_version" {
  description = "Canary mode: the published version the alias keeps as its primary version while canary_weight of invocations go to the version this apply publishes. null points the alias at the newest version (no canary)."
  type        = string
  default     = null

  validation {
    condition     = var.stable_version == null || can(regex("^[0-9]+$", var.stable_version))
    error_message = "stable_version must be a published version number such as \"7\" (not $LATEST or an alias)."
  }
}

variable "canary_weight" {
  description = "Canary mode: share of invocations (0-1) routed to the newest version; used only with stable_version."
  type        = number
  default     = null

  validation {
    condition     = var.canary_weight == null ? true : var.canary_weight >= 0 && var.canary_weight <= 1
    error_message = "canary_weight must be between 0 and 1."
  }
}

variable "tags" {
  description = "Tags applied to the function and its log group."
  type        = map(string)
  default     = {}
}
