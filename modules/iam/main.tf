# The execution role and its least-privilege inline policy: every statement names the one
# log group, stream, queue, sink or key it is for. The only "*" resources are the X-Ray and
# VPC network-interface statements, each present only when that feature is on, because AWS
# offers no resource-level permission for those actions.

locals {
  sink_statements = {
    none = []
    s3 = var.sink == "s3" ? [{
      sid       = "WritePredictionsToS3Prefix"
      actions   = ["s3:PutObject"]
      resources = ["${var.sink_s3_bucket_arn}/${var.sink_s3_prefix}*"]
    }] : []
    dynamodb = var.sink == "dynamodb" ? [{
      sid       = "WritePredictionsToDynamoDB"
      actions   = ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]
      resources = [var.sink_dynamodb_table_arn]
    }] : []
    kinesis = var.sink == "kinesis" ? [{
      sid       = "WritePredictionsToKinesis"
      actions   = ["kinesis:PutRecord", "kinesis:PutRecords"]
      resources = [var.sink_kinesis_stream_arn]
    }] : []
  }
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  path                 = var.role_path
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.sink != "s3" || var.sink_s3_bucket_arn != null
      error_message = "iam: sink = s3 needs sink_s3_bucket_arn."
    }
    precondition {
      condition     = var.sink != "dynamodb" || var.sink_dynamodb_table_arn != null
      error_message = "iam: sink = dynamodb needs sink_dynamodb_table_arn."
    }
    precondition {
      condition     = var.sink != "kinesis" || var.sink_kinesis_stream_arn != null
      error_message = "iam: sink = kinesis needs sink_kinesis_stream_arn."
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:*"]
  }

  # What the event source mapping needs to poll the stream (it acts with this role).
  # ListShards accepts the stream ARN; ListStreams is not needed.
  statement {
    sid = "ReadSourceStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [var.source_stream_arn]
  }

  dynamic "statement" {
    for_each = var.stream_consumer_arn == null ? [] : [var.stream_consumer_arn]

    content {
      sid       = "ReadThroughEnhancedFanOut"
      actions   = ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "SendFailedBatchesToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [var.failure_queue_arn]
  }

  dynamic "statement" {
    for_each = local.sink_statements[var.sink]

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [var.kms_key_arns] : []

    content {
      sid       = "UseCustomerManagedKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []

    content {
      sid     = "XRayTracing"
      actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      # AWS requires "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.vpc_enabled ? [1] : []

    content {
      sid = "VpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      # AWS requires "*": the Describe* actions have no resource-level permissions, and Lambda
      # creates the interfaces under IDs unknown in advance (as in AWSLambdaVPCAccessExecutionRole).
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.role_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
