"""Load for the demo API: /items, /items/{id} with ids 1-150 (101-150 are 404s), /crash."""
import random

from locust import HttpUser, between, task


class ApiUser(HttpUser):
    wait_time = between(0.5, 2)

    @task(5)
    def items(self):
        self.client.get("/items")

    @task(8)
    def item(self):
        self.client.get(f"/items/{random.randint(1, 150)}", name="/items/{id}")

    @task(1)
    def crash(self):
        with self.client.get("/crash", catch_response=True) as r:
            if r.status_code == 500:
                r.success()
