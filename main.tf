# mlayer: scikit-learn inference on AWS Lambda, fed by a Kinesis stream.
#
#   Kinesis stream ──> event source mapping ──> alias `live` ──> function version N
#                      (on failure: SQS queue)   (canary: N+1)    layers: deps (lean or sklearn), model
#
# Changing var.model_version changes exactly three things: a new model layer version is
# published, the function is updated (layers + MODEL_VERSION) and publishes a new version,
# and the alias moves to it. The deps layers, the role and its policy, the stream, the queue
# and the event source mapping reference nothing that depends on the model, so they stay as
# they are (tests/test_terraform_contracts.py checks this). Which deps layer the function
# attaches follows the model (a lean model gets the numpy-only lean layer); both deps layers
# stay published while the manifest holds a model of each kind, so moving model_version
# between a lean and a scikit-learn model (or back: a rollback) publishes no deps layer.

locals {
  function_name = "${var.name_prefix}-inference"

  # --- artifacts: from dist/manifest.json, each overridable by an explicit input ----------
  manifest     = var.manifest_path == null ? null : jsondecode(file(var.manifest_path))
  manifest_dir = var.manifest_path == null ? "." : dirname(var.manifest_path)

  manifest_deps      = try(local.manifest.deps, null)
  manifest_deps_lean = try(local.manifest.deps_lean, null)
  manifest_function  = try(local.manifest.function, null)
  manifest_models    = try(local.manifest.models, null)

  deps_candidate = var.deps_layer != null ? var.deps_layer : local.manifest_deps == null ? null : {
    file          = "${local.manifest_dir}/${local.manifest_deps.file}"
    sha256        = local.manifest_deps.sha256
    sha256_base64 = local.manifest_deps.sha256_base64
    runtime       = local.manifest_deps.runtime
    architecture  = local.manifest_deps.architecture
  }

  lean_deps_candidate = var.lean_deps_layer != null ? var.lean_deps_layer : local.manifest_deps_lean == null ? null : {
    file          = "${local.manifest_dir}/${local.manifest_deps_lean.file}"
    sha256        = local.manifest_deps_lean.sha256
    sha256_base64 = local.manifest_deps_lean.sha256_base64
    runtime       = local.manifest_deps_lean.runtime
    architecture  = local.manifest_deps_lean.architecture
  }

  function_candidate = var.function_package != null ? var.function_package : local.manifest_function == null ? null : {
    file          = "${local.manifest_dir}/${local.manifest_function.file}"
    sha256        = local.manifest_function.sha256
    sha256_base64 = local.manifest_function.sha256_base64
  }

  # deps_layer: which deps layer serves the model, "lean" (numpy + mmh3) or "sklearn" (manifests
  # from before the lean runtime say nothing: sklearn).
  models = var.model_layers != null ? var.model_layers : local.manifest_models == null ? tomap({}) : tomap({
    for key, model in local.manifest_models : key => {
      file          = "${local.manifest_dir}/${model.file}"
      sha256        = model.sha256
      sha256_base64 = model.sha256_base64
      deps_layer    = try(model.deps_layer, null) == null ? "sklearn" : try(tostring(model.deps_layer), "(not a string)")
    }
  })

  # The lean deps layer is published while any built model needs it, whichever model is live:
  # switching model_version then never creates or destroys a deps layer, and a rollback to a
  # model of the other kind is a one-variable change with nothing to re-publish.
  lean_deps_needed = anytrue([for model in values(local.models) : model.deps_layer == "lean"])
  publish_lean     = local.lean_deps_needed && local.lean_deps_candidate != null

  # --- the model the function is configured with ------------------------------------------
  # Without a canary that is model_version. During a canary the function (its newest
  # version) carries the canary model, while the alias keeps stable_function_version, the
  # version already published with model_version, as its primary.
  canary                 = var.canary_model_version != null
  function_model_version = local.canary ? var.canary_model_version : var.model_version
  function_model_key     = "${var.model_name}/${local.function_model_version}"
  model_version_key      = "${var.model_name}/${var.model_version}"
  invalid_records        = coalesce(var.invalid_records, var.sink == "none" ? "report" : "dead-letter") # as the handler defaults
  model_layer_name       = "${var.name_prefix}-model-${replace(var.model_name, "/[^a-zA-Z0-9_-]/", "-")}"

  # The artifacts are read through the two data sources below, whose preconditions check
  # the inputs first: a bad input then fails with that one clear message instead of an
  # index or null error further down. (The comparisons are always true once read.)
  deps      = data.aws_partition.current.partition != "" ? local.deps_candidate : null
  lean_deps = data.aws_partition.current.partition != "" ? local.lean_deps_candidate : null
  function  = data.aws_partition.current.partition != "" ? local.function_candidate : null
  model     = data.aws_partition.model_selection.partition != "" ? local.models[local.function_model_key] : null

  # The deps layer the function (its newest version: the canary's during a canary) is built with.
  function_deps_kind      = local.model.deps_layer
  function_deps_layer_arn = local.function_deps_kind == "lean" ? one(module.lean_deps_layer[*].arn) : module.deps_layer.arn

  function_environment = merge(
    var.environment_variables,
    {
      MODEL_DIR               = "/opt/model"
      MODEL_NAME              = var.model_name
      MODEL_VERSION           = local.function_model_version
      RECORD_FORMAT           = var.record_format
      TEXT_FIELD              = var.text_field
      TEXT_FIELD_JSON_ENCODED = tostring(var.text_field_json_encoded)
      INVALID_RECORDS         = local.invalid_records
    },
    module.sink.environment,
  )

  kms_key_arns = distinct(compact(concat([var.kms_key_arn], var.additional_kms_key_arns)))
}

# Checks on the artifacts and the handler's settings (nothing here depends on the model).
data "aws_partition" "current" {
  lifecycle {
    precondition {
      condition     = local.invalid_records != "dead-letter" || var.sink != "none"
      error_message = "invalid_records = \"dead-letter\" needs a sink to hold the entries: set sink to s3, dynamodb or kinesis, or use invalid_records = \"report\"."
    }
    precondition {
      condition     = local.deps_candidate != null && local.function_candidate != null
      error_message = "no build artifacts: set manifest_path to the dist/manifest.json that `mlayer build all` writes, or pass deps_layer, function_package and model_layers."
    }
    precondition {
      condition     = try(local.deps_candidate.runtime, var.runtime) == var.runtime
      error_message = "runtime ${var.runtime} differs from the deps layer's ${try(local.deps_candidate.runtime, "?")} (manifest deps.runtime): set runtime to match, or rebuild with `mlayer build all --runtime ${var.runtime}`."
    }
    precondition {
      condition     = try(local.deps_candidate.architecture, var.architecture) == var.architecture
      error_message = "architecture ${var.architecture} differs from the deps layer's ${try(local.deps_candidate.architecture, "?")} (manifest deps.architecture): set architecture to match, or rebuild for ${var.architecture}."
    }
    precondition {
      condition     = !local.publish_lean || try(local.lean_deps_candidate.runtime, var.runtime) == var.runtime
      error_message = "runtime ${var.runtime} differs from the lean deps layer's ${try(local.lean_deps_candidate.runtime, "?")} (manifest deps_lean.runtime): set runtime to match, or rebuild with `mlayer build all --runtime ${var.runtime}`."
    }
    precondition {
      condition     = !local.publish_lean || try(local.lean_deps_candidate.architecture, var.architecture) == var.architecture
      error_message = "architecture ${var.architecture} differs from the lean deps layer's ${try(local.lean_deps_candidate.architecture, "?")} (manifest deps_lean.architecture): lean models are x86_64 only; set architecture = \"x86_64\", or rebuild for ${var.architecture} (its models then use scikit-learn)."
    }
  }
}

# Checks on the model selection and the canary. (aws_partition, not aws_region: no attribute of
# aws_region is free of deprecation warnings across provider 5.x and 6.x.)
data "aws_partition" "model_selection" {
  lifecycle {
    precondition {
      condition     = contains(keys(local.models), local.function_model_key)
      error_message = "model ${local.function_model_key} is not in the manifest: run mlayer build all (built: ${length(local.models) == 0 ? "none" : join(", ", sort(keys(local.models)))})."
    }
    precondition {
      condition     = try(contains(["sklearn", "lean"], local.models[local.function_model_key].deps_layer), true)
      error_message = "model ${local.function_model_key} asks for deps layer \"${try(local.models[local.function_model_key].deps_layer, "?")}\", which is neither \"lean\" nor \"sklearn\": rebuild it with mlayer build all."
    }
    precondition {
      condition     = try(local.models[local.function_model_key].deps_layer, "sklearn") != "lean" || local.lean_deps_candidate != null
      error_message = "model ${local.function_model_key} is a lean model but there is no lean deps layer (manifest deps_lean): rebuild with mlayer build all on x86_64, pass lean_deps_layer, or build the model with --predictor sklearn."
    }
    precondition {
      condition     = !local.canary || var.canary_model_version != var.model_version
      error_message = "canary_model_version equals model_version: unset canary_model_version to serve one model, or name a different version to try."
    }
    precondition {
      condition     = !local.canary || var.stable_function_version != null
      error_message = "a canary needs stable_function_version, the published version now serving model_version: pass the `live_function_version` output (mlayer deploy --canary-model-version fills it in)."
    }
  }
}

module "artifact_bucket" {
  source = "./modules/artifact_bucket"

  create                             = var.create_artifact_bucket
  bucket_name                        = var.artifact_bucket_name
  bucket_prefix                      = "${var.name_prefix}-artifacts-"
  force_destroy                      = var.artifact_bucket_force_destroy
  kms_key_arn                        = var.kms_key_arn
  noncurrent_version_expiration_days = var.artifact_noncurrent_version_expiration_days
  access_logging                     = var.artifact_bucket_access_logging
  access_log_bucket                  = var.artifact_bucket_access_log_bucket
  tags                               = var.tags
}

module "deps_layer" {
  source = "./modules/layer"

  layer_name               = "${var.name_prefix}-deps"
  description              = "mlayer dependencies for ${var.runtime} ${var.architecture} (${substr(local.deps.sha256, 0, 12)})"
  zip_path                 = local.deps.file
  sha256                   = local.deps.sha256
  sha256_base64            = local.deps.sha256_base64
  s3_bucket                = module.artifact_bucket.bucket_id
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
  kms_key_arn              = var.kms_key_arn
  tags                     = var.tags
}

# numpy + mmh3 only, for lean models (x86_64); published beside the scikit-learn layer while any
# built model needs it (see local.publish_lean).
module "lean_deps_layer" {
  source = "./modules/layer"
  count  = local.publish_lean ? 1 : 0

  layer_name               = "${var.name_prefix}-deps-lean"
  description              = "mlayer lean dependencies (numpy + mmh3) for ${var.runtime} ${var.architecture} (${substr(local.lean_deps.sha256, 0, 12)})"
  zip_path                 = local.lean_deps.file
  sha256                   = local.lean_deps.sha256
  sha256_base64            = local.lean_deps.sha256_base64
  s3_bucket                = module.artifact_bucket.bucket_id
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
  kms_key_arn              = var.kms_key_arn
  tags                     = var.tags
}

module "model_layer" {
  source = "./modules/layer"

  layer_name    = local.model_layer_name
  description   = "mlayer model ${local.function_model_key} (${substr(local.model.sha256, 0, 12)})"
  zip_path      = local.model.file
  sha256        = local.model.sha256
  sha256_base64 = local.model.sha256_base64
  s3_bucket     = module.artifact_bucket.bucket_id
  # Pickles are tied to the deps layer's library versions (so to its runtime), not to a CPU.
  compatible_runtimes      = [var.runtime]
  compatible_architectures = ["x86_64", "arm64"]
  kms_key_arn              = var.kms_key_arn
  tags                     = var.tags
}

resource "aws_s3_object" "function_code" {
  bucket       = module.artifact_bucket.bucket_id
  key          = "functions/${local.function_name}/${local.function.sha256}.zip"
  source       = local.function.file
  source_hash  = local.function.sha256
  content_type = "application/zip"
  kms_key_id   = var.kms_key_arn
  tags         = var.tags

  lifecycle {
    # Content-addressed key: the zip's path (absolute or relative) is not its content.
    ignore_changes = [source]
  }
}

# A warning, not an error: sink = "none" is how the dev example tries the module out. But the
# event source mapping discards the function's response, and with no sink the response is the
# only place the predictions go.
check "predictions_are_kept" {
  assert {
    condition     = var.sink != "none" || !var.trigger_enabled
    error_message = "sink = \"none\" with the Kinesis trigger enabled: the event source mapping discards the function's response, so every prediction is lost. Set sink to s3, dynamodb or kinesis to keep them."
  }
}

module "sink" {
  source = "./modules/sink"

  name                  = var.name_prefix
  kind                  = var.sink
  s3_bucket_name        = var.sink == "s3" ? coalesce(var.sink_s3_bucket_name, module.artifact_bucket.bucket_id) : null
  s3_prefix             = var.sink_s3_prefix
  create_dynamodb_table = var.sink_create_dynamodb_table
  dynamodb_table_arn    = var.sink_dynamodb_table_arn
  deletion_protection   = var.sink_dynamodb_deletion_protection
  create_kinesis_stream = var.sink_create_kinesis_stream
  kinesis_stream_arn    = var.sink_kinesis_stream_arn
  kms_key_arn           = var.kms_key_arn
  tags                  = var.tags
}

module "kinesis_trigger" {
  source = "./modules/kinesis_trigger"

  name          = var.name_prefix
  function_name = module.function.alias_arn

  create_stream        = var.create_stream
  stream_arn           = var.stream_arn
  stream_mode          = var.stream_mode
  shard_count          = var.stream_shard_count
  retention_period     = var.stream_retention_hours
  kms_key_arn          = var.kms_key_arn
  use_enhanced_fan_out = var.use_enhanced_fan_out

  enabled                            = var.trigger_enabled
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  starting_position                  = var.starting_position
  starting_position_timestamp        = var.starting_position_timestamp
  parallelization_factor             = var.parallelization_factor
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  function_response_types            = var.function_response_types

  failure_queue_message_retention_seconds = var.failure_queue_message_retention_seconds

  tags = var.tags
}

module "iam" {
  source = "./modules/iam"

  role_name                = local.function_name
  permissions_boundary_arn = var.permissions_boundary_arn
  log_group_arn            = module.function.log_group_arn
  source_stream_arn        = module.kinesis_trigger.stream_arn
  stream_consumer_arn      = module.kinesis_trigger.consumer_arn
  failure_queue_arn        = module.kinesis_trigger.failure_queue_arn
  sink                     = var.sink
  sink_s3_bucket_arn       = module.sink.s3_bucket_arn
  sink_s3_prefix           = module.sink.s3_prefix
  sink_dynamodb_table_arn  = module.sink.dynamodb_table_arn
  sink_kinesis_stream_arn  = module.sink.kinesis_stream_arn
  kms_key_arns             = local.kms_key_arns
  tracing_enabled          = var.tracing_mode == "Active"
  vpc_enabled              = length(var.vpc_subnet_ids) > 0
  tags                     = var.tags
}

module "function" {
  source = "./modules/function"

  function_name = local.function_name
  description   = "mlayer: ${var.model_name} predictions for records from Kinesis"
  role_arn      = module.iam.role_arn
  runtime       = var.runtime
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.timeout

  # Extracted in this order into /opt: packages under /opt/python, the model under /opt/model.
  # The deps layer is the one the model needs: lean (numpy + mmh3) or scikit-learn.
  layers = concat([local.function_deps_layer_arn], var.additional_layer_arns, [module.model_layer.arn])

  s3_bucket        = aws_s3_object.function_code.bucket
  s3_key           = aws_s3_object.function_code.key
  source_code_hash = local.function.sha256_base64

  environment_variables          = local.function_environment
  reserved_concurrent_executions = var.reserved_concurrent_executions
  tracing_mode                   = var.tracing_mode
  kms_key_arn                    = var.kms_key_arn
  log_retention_in_days          = var.log_retention_in_days
  log_kms_key_arn                = var.log_kms_key_arn
  vpc_subnet_ids                 = var.vpc_subnet_ids
  vpc_security_group_ids         = var.vpc_security_group_ids

  stable_version = local.canary ? var.stable_function_version : null
  canary_weight  = local.canary ? var.canary_weight : null

  tags = var.tags
}
