output "function_name" {
  description = "Name of the inference function."
  value       = module.mlayer.function_name
}

output "function_version" {
  description = "Newest published function version."
  value       = module.mlayer.function_version
}

output "live_function_version" {
  description = "Version the `live` alias serves."
  value       = module.mlayer.live_function_version
}

output "alias_arn" {
  description = "ARN of the alias the stream invokes."
  value       = module.mlayer.alias_arn
}

output "model" {
  description = "Model served, NAME/VERSION."
  value       = module.mlayer.model
}

output "deps_layer_kind" {
  description = "Deps layer the served model runs on: lean (numpy + mmh3) or sklearn."
  value       = module.mlayer.deps_layer_kind
}

output "stream_name" {
  description = "Stream to put records into."
  value       = module.mlayer.stream_name
}

output "failure_queue_url" {
  description = "Queue holding records of batches that failed every retry."
  value       = module.mlayer.failure_queue_url
}
