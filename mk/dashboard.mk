# Dashboard targets (include from the top-level Makefile).
# The chart page lives in dashboard/src (uPlot vendored in dashboard/src/vendor/uplot) and is
# compiled into the binary: `cdrstats serve` alone serves /dashboard/, no build step, no npm.

CHROMIUM ?= /usr/bin/chromium

.PHONY: dashboard-vendor dashboard-test

dashboard-vendor: ## Re-vendor the pinned uPlot from npm (maintainers only; checks its integrity)
	bash dashboard/vendor-uplot.sh

dashboard-test: ## Headless browser test of the dashboard (needs a built binary and a seeded engine)
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium (apt-get)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	cd dashboard && npm ci --no-audit --no-fund
	CHROMIUM_PATH=$(CHROMIUM) bash dashboard/test/run.sh
