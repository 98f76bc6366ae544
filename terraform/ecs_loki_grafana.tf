# Loki: deploy/loki/Dockerfile bakes deploy/loki/loki-aws.yaml (chunks and index in the S3
# bucket, credentials from the task role) into grafana/loki; the bucket and region come in as
# environment variables the config expands.
resource "aws_ecs_task_definition" "loki" {
  family                   = "${var.project}-loki-${var.environment}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([
    {
      name      = "loki"
      image     = "${aws_ecr_repository.loki.repository_url}:${var.image_tag}"
      essential = true
      command   = ["-config.file=/etc/loki/loki-aws.yaml", "-config.expand-env=true"]
      environment = [
        { name = "LOKI_S3_BUCKET", value = aws_s3_bucket.loki.bucket },
        { name = "LOKI_S3_REGION", value = var.region },
      ]
      portMappings = [{ containerPort = 3100, protocol = "tcp" }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.loki.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "loki"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "loki" {
  name            = "${local.name}-loki"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.loki.arn
  desired_count   = 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = module.vpc.private_subnets
    security_groups = [aws_security_group.ecs_tasks.id]
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.loki.arn
    container_name   = "loki"
    container_port   = 3100
  }
  depends_on = [aws_lb_listener.loki]
}

# Grafana: deploy/grafana/Dockerfile bakes the X-Ray plugin, the AWS data sources
# (deploy/grafana/aws/datasources.yaml: AMP with SigV4, Loki, X-Ray, all through the task role)
# and the two dashboards into grafana/grafana; the URLs come in as environment variables.
resource "aws_ecs_task_definition" "grafana" {
  family                   = "${var.project}-grafana-${var.environment}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([
    {
      name         = "grafana"
      image        = "${aws_ecr_repository.grafana.repository_url}:${var.image_tag}"
      essential    = true
      portMappings = [{ containerPort = 3000, protocol = "tcp" }]
      environment = [
        { name = "AWS_REGION", value = var.region },
        { name = "AMP_QUERY_URL", value = aws_prometheus_workspace.this.prometheus_endpoint },
        { name = "LOKI_URL", value = "http://${aws_lb.internal.dns_name}:3100" },
      ]
      secrets = [
        { name = "GF_SECURITY_ADMIN_PASSWORD", valueFrom = aws_ssm_parameter.grafana_admin_password.arn },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.grafana.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "grafana"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "grafana" {
  name            = "${local.name}-grafana"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.grafana.arn
  desired_count   = 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = module.vpc.private_subnets
    security_groups = [aws_security_group.ecs_tasks.id]
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.grafana.arn
    container_name   = "grafana"
    container_port   = 3000
  }
  depends_on = [aws_lb_listener.grafana]
}
