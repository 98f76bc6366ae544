locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  azs        = slice(data.aws_availability_zones.available.names, 0, 2)

  # The app and its oxidot sidecar share the task's network namespace: the app reaches the
  # collector at 127.0.0.1:4317 and starts only once the collector reports HEALTHY.
  app_containers = [
    {
      name      = "app"
      image     = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
      essential = true
      cpu       = 256
      memory    = 512
      portMappings = [
        { containerPort = 8000, protocol = "tcp" }
      ]
      environment = [
        { name = "OTEL_EXPORTER_OTLP_ENDPOINT", value = "http://127.0.0.1:4317" },
        { name = "OTEL_SERVICE_NAME", value = "enterprise-api" },
        # loki.resource.labels makes service_name a Loki stream label, as Loki's OTLP path does locally.
        { name = "OTEL_RESOURCE_ATTRIBUTES", value = "service.name=enterprise-api,environment=${var.environment},loki.resource.labels=service.name" },
      ]
      healthCheck = {
        command     = ["CMD", "/usr/local/bin/demo-api", "health", "127.0.0.1:8000"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
      dependsOn = [
        { containerName = "collector", condition = "HEALTHY" }
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "app"
        }
      }
    },
    {
      name      = "collector"
      image     = "${aws_ecr_repository.collector.repository_url}:${var.image_tag}"
      essential = true
      cpu       = 256
      memory    = 512
      environment = [
        { name = "AWS_REGION", value = var.region },
        { name = "LOKI_ENDPOINT", value = aws_lb.internal.dns_name },
        # Read by config/aws-sidecar-lb.yaml (gateway_enabled); unused by aws.yaml.
        { name = "GATEWAY_HOSTNAME", value = local.gateway_hostname },
      ]
      # oxidot reads its whole configuration from AOT_CONFIG_CONTENT, as ADOT does.
      secrets = [
        { name = "AOT_CONFIG_CONTENT", valueFrom = aws_ssm_parameter.collector_config.arn },
        { name = "AMP_REMOTE_WRITE_URL", valueFrom = aws_ssm_parameter.amp_remote_write_url.arn },
      ]
      healthCheck = {
        command     = ["CMD", "/usr/local/bin/oxidot", "health", "--endpoint", "http://127.0.0.1:13133/"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.collector.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "collector"
        }
      }
    },
  ]
}
