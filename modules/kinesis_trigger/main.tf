# The source stream (created encrypted, or an existing one), an optional enhanced fan-out
# consumer, the encrypted SQS queue that keeps failed batches, and the event source mapping.
#
# The mapping invokes the function's alias, so moving the alias to a new version (a model
# update, a canary, a rollback) never changes the mapping and never resets its position.

locals {
  stream_arn       = var.create_stream ? aws_kinesis_stream.this[0].arn : var.stream_arn
  stream_name      = var.create_stream ? aws_kinesis_stream.this[0].name : element(split("/", var.stream_arn), 1)
  event_source_arn = var.use_enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : local.stream_arn
}

resource "aws_kinesis_stream" "this" {
  count = var.create_stream ? 1 : 0

  #checkov:skip=CKV_AWS_185:The stream is KMS-encrypted; with var.kms_key_arn unset it uses the AWS managed key alias/aws/kinesis, which needs no key policy or grants.
  name             = coalesce(var.stream_name, "${var.name}-records")
  retention_period = var.retention_period
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  encryption_type  = "KMS"
  kms_key_id       = coalesce(var.kms_key_arn, "alias/aws/kinesis")
  tags             = var.tags

  stream_mode_details {
    stream_mode = var.stream_mode
  }
}

resource "aws_kinesis_stream_consumer" "this" {
  count = var.use_enhanced_fan_out ? 1 : 0

  name       = "${var.name}-consumer"
  stream_arn = local.stream_arn
}

resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-failed-batches"
  message_retention_seconds = var.failure_queue_message_retention_seconds
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn = local.event_source_arn
  function_name    = var.function_name
  enabled          = var.enabled

  starting_position           = var.starting_position
  starting_position_timestamp = var.starting_position == "AT_TIMESTAMP" ? var.starting_position_timestamp : null

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  tumbling_window_in_seconds         = var.tumbling_window_in_seconds

  bisect_batch_on_function_error = var.bisect_batch_on_function_error
  maximum_retry_attempts         = var.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.maximum_record_age_in_seconds
  function_response_types        = var.function_response_types

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_stream || var.stream_arn != null
      error_message = "kinesis_trigger: create_stream = false needs stream_arn, the stream to read."
    }
    precondition {
      condition     = var.starting_position != "AT_TIMESTAMP" || var.starting_position_timestamp != null
      error_message = "kinesis_trigger: starting_position = AT_TIMESTAMP needs starting_position_timestamp."
    }
  }
}
