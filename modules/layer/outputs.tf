output "arn" {
  description = "ARN of the published layer version (LAYER_ARN:VERSION), the value a function's `layers` takes."
  value       = aws_lambda_layer_version.this.arn
}

output "layer_arn" {
  description = "ARN of the layer without a version."
  value       = aws_lambda_layer_version.this.layer_arn
}

output "version" {
  description = "Version number Lambda gave this layer version."
  value       = aws_lambda_layer_version.this.version
}

output "s3_bucket" {
  description = "Bucket holding the uploaded zip."
  value       = aws_s3_object.this.bucket
}

output "s3_key" {
  description = "Content-addressed key of the uploaded zip."
  value       = aws_s3_object.this.key
}
