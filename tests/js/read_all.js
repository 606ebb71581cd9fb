// Drives the npm client `statuspage.io` (installed from tests/js/package-lock.json) against a status page and prints, as one JSON document, what
// each of its read methods returned, the path it actually requested, and the client's own enums.
// Usage: node --conditions=browser read_all.js http://127.0.0.1:PORT
// (`--conditions=browser`: axios uses its fetch adapter, Node's built-in fetch, as in a browser.)
"use strict";

const { Statuspage, IncidentStatus, IncidentImpact, MaintenanceStatus } = require("statuspage.io");

async function main(baseUrl) {
  const client = new Statuspage("portal");
  client.setApiUrl(baseUrl);
  const paths = [];
  client.apiClient.interceptors.request.use((config) => {
    paths.push(config.url);
    return config;
  });
  const api = client.api;
  const calls = {
    getSummary: () => api.getSummary(),
    getStatus: () => api.getStatus(),
    getComponents: () => api.getComponents(),
    "incidents.getAll": () => api.incidents.getAll(),
    "incidents.getUnresolved": () => api.incidents.getUnresolved(),
    "scheduledMaintenances.getAll": () => api.scheduledMaintenances.getAll(),
    "scheduledMaintenances.getUpcoming": () => api.scheduledMaintenances.getUpcoming(),
    "scheduledMaintenances.getActive": () => api.scheduledMaintenances.getActive(),
  };
  const results = {};
  for (const [name, call] of Object.entries(calls)) {
    const data = await call();
    results[name] = { path: paths[paths.length - 1], data };
  }
  const enums = {
    IncidentStatus: Object.values(IncidentStatus),
    IncidentImpact: Object.values(IncidentImpact),
    MaintenanceStatus: Object.values(MaintenanceStatus),
  };
  process.stdout.write(JSON.stringify({ results, enums }));
}

main(process.argv[2]).catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
