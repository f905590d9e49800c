# The inference function, its log group and the `live` alias the Kinesis mapping invokes.
#
# Every apply that changes the code, layers or environment publishes a new immutable version
# (publish = true). The alias normally follows the newest version; in canary mode it keeps
# var.stable_version as its primary version and routes var.canary_weight of invocations to
# the newest one through routing_config.
#
# No dead-letter queue: DLQs (and on-failure destinations of the function) only apply to
# asynchronous invocations. Kinesis invokes synchronously through its event source mapping,
# whose on-failure destination (modules/kinesis_trigger) receives the failed batches instead.

locals {
  canary = var.stable_version != null
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encryption with a customer key is opt-in through var.log_kms_key_arn; CloudWatch Logs encrypts every log group at rest regardless.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_in_days (default 30 days): these are per-invocation REPORT lines and handler logs, not audit records; raise it where policy asks for a year.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A DLQ only serves asynchronous invocations; this function is invoked synchronously by a Kinesis event source mapping, whose on-failure SQS destination keeps failed batches.
  #checkov:skip=CKV_AWS_117:VPC attachment is opt-in through var.vpc_subnet_ids; the function only calls AWS APIs and a VPC would add NAT or endpoint cost.
  #checkov:skip=CKV_AWS_272:Code signing would need a signing profile outside this module; integrity comes from the content-addressed S3 keys and source_code_hash.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is opt-in through var.reserved_concurrent_executions; a Kinesis mapping already bounds concurrency to shards x parallelization_factor, and reserving by default would take capacity from the account pool.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (model name and version, record format, sink names); var.kms_key_arn encrypts it with a customer key when set, the Lambda service key otherwise.
  #checkov:skip=CKV_AWS_50:X-Ray is configurable through var.tracing_mode; the default PassThrough avoids tracing every stream batch.
  function_name = var.function_name
  description   = var.description
  role          = var.role_arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  layers        = var.layers

  s3_bucket        = var.s3_bucket
  s3_key           = var.s3_key
  filename         = var.filename
  source_code_hash = var.source_code_hash

  publish                        = true
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = length(var.vpc_subnet_ids) > 0 ? [1] : []

    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.filename != null) != (var.s3_bucket != null && var.s3_key != null)
      error_message = "function: set either filename or both s3_bucket and s3_key for the function code."
    }
    precondition {
      condition     = length(var.vpc_subnet_ids) == 0 || length(var.vpc_security_group_ids) > 0
      error_message = "function: vpc_subnet_ids needs vpc_security_group_ids too."
    }
  }

  # Create the log group (with its retention) before Lambda can create it without one.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_alias" "this" {
  name             = var.alias_name
  description      = local.canary ? "canary: ${var.canary_weight} of invocations to the newest version" : "newest published version"
  function_name    = aws_lambda_function.this.function_name
  function_version = local.canary ? var.stable_version : aws_lambda_function.this.version

  dynamic "routing_config" {
    for_each = local.canary ? [1] : []

    content {
      additional_version_weights = {
        (aws_lambda_function.this.version) = var.canary_weight
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !local.canary || var.canary_weight != null
      error_message = "function: stable_version (canary mode) needs canary_weight."
    }
    precondition {
      condition     = !local.canary || aws_lambda_function.this.version != var.stable_version
      error_message = "function: this apply published nothing new, so the canary would route to the stable version itself: change the canary model (or code) or drop stable_version."
    }
  }
}
