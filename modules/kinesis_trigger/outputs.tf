output "stream_arn" {
  description = "ARN of the source stream."
  value       = local.stream_arn
}

output "stream_name" {
  description = "Name of the source stream (producers put records here)."
  value       = local.stream_name
}

output "consumer_arn" {
  description = "ARN of the enhanced fan-out consumer; null without one."
  value       = var.use_enhanced_fan_out ? aws_kinesis_stream_consumer.this[0].arn : null
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping_function_arn" {
  description = "ARN the mapping invokes (the alias)."
  value       = aws_lambda_event_source_mapping.this.function_arn
}

output "failure_queue_arn" {
  description = "ARN of the SQS queue receiving the records of batches that exhausted their retries or aged out."
  value       = aws_sqs_queue.failures.arn
}

output "failure_queue_url" {
  description = "URL of the failure queue."
  value       = aws_sqs_queue.failures.url
}
