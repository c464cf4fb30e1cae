// Prometheus metrics of one gateway (GET /metrics): requests and their latency, payment outcomes, the time the
// payment check takes, inference time, and the money not yet settled. One registry per gateway, so tests can run
// several gateways in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// Paid calls take well under a millisecond to check: buckets start at 50 µs.
const FAST_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export function createMetrics(options: { unsettled: () => bigint; defaultMetrics?: boolean }) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: "modelshare_gateway_" });
  return {
    registry,
    requests: new Histogram({
      name: "modelshare_gateway_http_request_duration_seconds",
      help: "HTTP requests by route and status, with their duration",
      labelNames: ["method", "route", "status"] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    payments: new Counter({
      name: "modelshare_gateway_payments_total",
      help: "Payment outcomes: required (402 without payment), paid, released (call failed, not charged), malformed",
      labelNames: ["scheme", "result"] as const,
      registers: [registry],
    }),
    paymentErrors: new Counter({
      name: "modelshare_gateway_payment_errors_total",
      help: "Payments refused, by error code",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    verifySeconds: new Histogram({
      name: "modelshare_gateway_payment_verify_seconds",
      help: "Time to check a payment and hold it (voucher: in memory; exact: includes a balance read)",
      labelNames: ["scheme"] as const,
      buckets: FAST_BUCKETS,
      registers: [registry],
    }),
    inferSeconds: new Histogram({
      name: "modelshare_gateway_infer_request_seconds",
      help: "Time from an inference request's arrival to its answer",
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    unsettled: new Gauge({
      name: "modelshare_gateway_unsettled_amount",
      help: "Stablecoin base units owed by payers for answered calls and not yet settled on-chain",
      registers: [registry],
      collect() {
        this.set(Number(options.unsettled()));
      },
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createMetrics>;
