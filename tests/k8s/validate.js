#!/usr/bin/env node
// validate.js FILE...: validates every Kubernetes object of the YAML streams
// (e.g. `kubectl kustomize ops/k8s` output) offline, two ways, and exits 1
// naming each object and problem found (0 when there is none):
//  1. JSON Schema: the kubernetes-models validators, generated from the
//     Kubernetes OpenAPI schema (core kinds) and from the KEDA and Prometheus
//     Operator CRDs: required fields, types, enums, formats.
//  2. Unknown fields: those schemas allow any extra property (the API server
//     prunes or rejects them, kubeconform needs -strict for it), so each
//     object is also type-checked by the TypeScript compiler against the same
//     packages' typed interfaces, whose excess-property check names a field
//     the kind does not have (a typo such as `imagePullPolcy`).
// A kind without a model here is an error too: nothing passes unchecked.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

// apiVersion/kind -> [module, class (its interface is I + class)].
const MODELS = {
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "Secret"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/PersistentVolumeClaim": ["kubernetes-models/v1/PersistentVolumeClaim", "PersistentVolumeClaim"],
  "v1/ServiceAccount": ["kubernetes-models/v1/ServiceAccount", "ServiceAccount"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "StatefulSet"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
  "batch/v1/Job": ["kubernetes-models/batch/v1/Job", "Job"],
  "batch/v1/CronJob": ["kubernetes-models/batch/v1/CronJob", "CronJob"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "PodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "NetworkPolicy"],
  "keda.sh/v1alpha1/ScaledObject": ["@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "ScaledObject"],
  "keda.sh/v1alpha1/TriggerAuthentication": ["@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication", "TriggerAuthentication"],
  "monitoring.coreos.com/v1/ServiceMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor"],
  "monitoring.coreos.com/v1/PrometheusRule": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "PrometheusRule"],
};

function label(doc, i) {
  const name = doc && doc.metadata && doc.metadata.name;
  return `object ${i + 1} (${doc && doc.kind}/${name})`;
}

// The objects of every file, or problems if a file does not parse.
function readObjects(files, problems) {
  const objects = [];
  for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    for (const d of docs) {
      if (d.errors.length) {
        problems.push(`${file}: ${d.errors[0].message}`);
        continue;
      }
      const obj = d.toJS();
      if (obj === null || obj === undefined)
        continue;
      // kustomize v5 folds a long base64 value of a Secret over lines; the
      // API server's decoder (Go's encoding/base64) skips line ends.
      if (obj.kind === "Secret" && obj.data)
        for (const k of Object.keys(obj.data))
          if (typeof obj.data[k] === "string")
            obj.data[k] = obj.data[k].replace(/[\r\n]/g, "");
      objects.push(obj);
    }
  }
  return objects;
}

function schemaCheck(objects, problems) {
  objects.forEach((doc, i) => {
    const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!model) {
      problems.push(`${label(doc, i)}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
      return;
    }
    const Model = require(model[0])[model[1]];
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${label(doc, i)}: schema: ${e.message}`);
    }
  });
}

// One virtual TypeScript file per object: `const doc: IKind = {...}`.
function typeCheck(objects, problems) {
  const dir = path.join(__dirname, "__objects__");
  const files = new Map();
  objects.forEach((doc, i) => {
    const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!model)
      return;
    const text = `import type { I${model[1]} } from "${model[0]}";\n` +
      `export const doc: I${model[1]} = ${JSON.stringify(doc, null, 2)};\n`;
    files.set(path.join(dir, `object${i + 1}.ts`), { text, doc, i });
  });
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => files.has(name)
    ? ts.createSourceFile(name, files.get(name).text, lang)
    : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.has(name) ? files.get(name).text : readFile(name);
  const program = ts.createProgram([...files.keys()], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    let msg = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
    if (msg.length > 300) // a type spelled out in full can run to pages
      msg = msg.slice(0, 300) + "...";
    const f = d.file && files.get(d.file.fileName);
    if (!f) {
      problems.push(`typescript: ${msg}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const source = f.text.split("\n")[line].trim();
    problems.push(`${label(f.doc, f.i)}: type: ${msg} (at ${source})`);
  }
}

function main(argv) {
  if (!argv.length) {
    console.error("usage: validate.js FILE.yaml...");
    return 2;
  }
  const problems = [];
  const objects = readObjects(argv, problems);
  schemaCheck(objects, problems);
  typeCheck(objects, problems);
  for (const p of problems)
    console.log(p);
  const kinds = objects.map((o) => o.kind).join(", ");
  console.log(`${objects.length} objects (${kinds}): ${problems.length} problems`);
  return problems.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
