// Composes Saleor's subgraph with this plugin's, as an Apollo gateway would.
// Usage: node compose.mjs <saleor.graphql> <plugin.graphql>
// Prints a JSON report; exits 1 when composition fails.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const [saleorPath, pluginPath] = process.argv.slice(2);
if (!saleorPath || !pluginPath) {
  console.error("usage: node compose.mjs <saleor.graphql> <plugin.graphql>");
  process.exit(2);
}

const services = [
  { name: "saleor", url: "http://saleor.invalid/graphql/", path: saleorPath },
  { name: "delivery-otp", url: "http://plugin.invalid/graphql/", path: pluginPath },
].map(({ name, url, path }) => ({
  name,
  url,
  typeDefs: parse(readFileSync(path, "utf8")),
}));

const result = composeServices(services);
if (result.errors) {
  console.log(
    JSON.stringify({ composed: false, errors: result.errors.map((e) => e.message) }),
  );
  process.exit(1);
}
const schema = result.schema.toAPISchema().toGraphQLJSSchema();
const order = schema.getType("Order");
const fields = Object.keys(order.getFields());
console.log(
  JSON.stringify({
    composed: true,
    orderFields: fields.length,
    orderHasDeliveryCodes: fields.includes("deliveryCodes"),
    orderHasNumber: fields.includes("number"),
    deliveryCodeType: String(order.getFields().deliveryCodes?.type ?? ""),
    mutations: Object.keys(schema.getMutationType().getFields()).filter((f) =>
      f.startsWith("deliveryCode"),
    ),
    hints: (result.hints ?? []).length,
  }),
);
