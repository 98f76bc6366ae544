# The optional gateway tier (var.gateway_enabled): oxidot tasks of their own that receive OTLP
# from every sidecar and export to AMP, Loki and X-Ray. Cloud Map registers one A record per
# task under gateway.<project>.local; the sidecars' loadbalancing exporter resolves that name
# every 5 s and keeps each trace on one gateway (config/aws-sidecar-lb.yaml).

locals {
  gateway_count    = var.gateway_enabled ? 1 : 0
  gateway_hostname = "gateway.${var.project}.local"
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  count       = local.gateway_count
  name        = "${var.project}.local"
  description = "Service discovery for the oxidot gateway tier"
  vpc         = module.vpc.vpc_id
}

resource "aws_service_discovery_service" "gateway" {
  count = local.gateway_count
  name  = "gateway"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this[0].id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_ssm_parameter" "gateway_config" {
  count = local.gateway_count
  name  = "/${var.project}/${var.environment}/gateway_config"
  type  = "String"
  tier  = "Standard"
  value = file("${path.module}/../config/aws-gateway.yaml")
}

resource "aws_cloudwatch_log_group" "gateway" {
  count             = local.gateway_count
  name              = "/ecs/${var.project}-gateway-${var.environment}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "gateway" {
  count                    = local.gateway_count
  family                   = "${var.project}-gateway-${var.environment}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([
    {
      name      = "gateway"
      image     = "${aws_ecr_repository.collector.repository_url}:${var.image_tag}"
      essential = true
      portMappings = [
        { containerPort = 4317, protocol = "tcp" }
      ]
      environment = [
        { name = "AWS_REGION", value = var.region },
        { name = "LOKI_ENDPOINT", value = aws_lb.internal.dns_name },
      ]
      secrets = [
        { name = "AOT_CONFIG_CONTENT", valueFrom = aws_ssm_parameter.gateway_config[0].arn },
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
          awslogs-group         = aws_cloudwatch_log_group.gateway[0].name
          awslogs-region        = var.region
          awslogs-stream-prefix = "gateway"
        }
      }
    },
  ])
}

resource "aws_ecs_service" "gateway" {
  count           = local.gateway_count
  name            = "${local.name}-gateway"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.gateway[0].arn
  desired_count   = var.gateway_desired_count
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = module.vpc.private_subnets
    security_groups = [aws_security_group.ecs_tasks.id]
  }
  service_registries {
    registry_arn = aws_service_discovery_service.gateway[0].arn
  }
}
