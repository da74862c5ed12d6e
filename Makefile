.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

serve: ## Run the server on the embedded defaults (SQLite, WebRTC media, :5000)
	scripts/serve

test: ## Run every test (installs the venv and redis-server when missing)
	scripts/test

lint: ## ruff check, ruff format --check, mypy
	scripts/lint

format: ## Format the code
	.venv/bin/ruff format loop tests bench
	.venv/bin/ruff check --fix loop tests bench

screenshot: ## docs/three-way-call.png: a three-way call in Chromium
	scripts/screenshot

bench: ## Room-flow benchmark on both backends
	.venv/bin/python bench/room_flow.py --backend both

.PHONY: help serve test lint format bench screenshot
