output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "Newest published version (the canary while a canary runs)."
  value       = aws_lambda_function.this.version
}

output "qualified_arn" {
  description = "ARN of the newest published version."
  value       = aws_lambda_function.this.qualified_arn
}

output "alias_name" {
  description = "Name of the alias."
  value       = aws_lambda_alias.this.name
}

output "alias_arn" {
  description = "ARN of the alias; event sources invoke this, never a version."
  value       = aws_lambda_alias.this.arn
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the alias (for API Gateway integrations)."
  value       = aws_lambda_alias.this.invoke_arn
}

output "alias_function_version" {
  description = "Primary version the alias points at (the stable version during a canary)."
  value       = aws_lambda_alias.this.function_version
}

output "alias_routing" {
  description = "Additional version weights of the alias ({} without a canary)."
  # A for expression, not `canary ? {...} : {}`: its type is known while the version is not, so
  # the first plan after the function is created does not report this output as changing.
  value = { for version, weight in { (aws_lambda_function.this.version) = var.canary_weight } : version => weight if local.canary }
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}
