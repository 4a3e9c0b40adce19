# Dashboard targets (include from the top-level Makefile).
# The chart page lives in dashboard/ and is built into dashboard/dist (served at /dashboard/).

CHROMIUM ?= /usr/bin/chromium

.PHONY: dashboard dashboard-test

dashboard: ## Build the chart page into dashboard/dist (npm ci + copy uPlot)
	bash dashboard/build.sh

dashboard-test: ## Headless browser test of the dashboard (needs a built binary and a seeded engine)
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium (apt-get)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	bash dashboard/build.sh
	CHROMIUM_PATH=$(CHROMIUM) bash dashboard/test/run.sh
