/* popgen-hub's JBrowse 2 plugin, built by browsers/jbrowse/build.mjs against @jbrowse/core 4.1.13 */
"use strict";
var JBrowsePluginPopgenHub = (() => {
  var __create = Object.create;
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getProtoOf = Object.getPrototypeOf;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __commonJS = (cb, mod) => function __require() {
    try {
      return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
    } catch (e) {
      throw mod = 0, e;
    }
  };
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
    // If the importer is in node compatibility mode or this is not an ESM
    // file that has been converted to a CommonJS file using a Babel-
    // compatible transform (i.e. "__esModule" has not been set), then set
    // "default" to the CommonJS "module.exports" for node compatibility.
    isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
    mod
  ));
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // jbrowse-host:@jbrowse/core/Plugin
  var require_Plugin = __commonJS({
    "jbrowse-host:@jbrowse/core/Plugin"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/Plugin"];
    }
  });

  // jbrowse-host:@jbrowse/core/pluggableElementTypes/AdapterType
  var require_AdapterType = __commonJS({
    "jbrowse-host:@jbrowse/core/pluggableElementTypes/AdapterType"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/pluggableElementTypes/AdapterType"];
    }
  });

  // jbrowse-host:@jbrowse/core/configuration
  var require_configuration = __commonJS({
    "jbrowse-host:@jbrowse/core/configuration"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/configuration"];
    }
  });

  // jbrowse-host:@jbrowse/core/data_adapters/BaseAdapter
  var require_BaseAdapter = __commonJS({
    "jbrowse-host:@jbrowse/core/data_adapters/BaseAdapter"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/data_adapters/BaseAdapter"];
    }
  });

  // jbrowse-host:@jbrowse/core/util
  var require_util = __commonJS({
    "jbrowse-host:@jbrowse/core/util"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/util"];
    }
  });

  // jbrowse-host:@jbrowse/core/util/rxjs
  var require_rxjs = __commonJS({
    "jbrowse-host:@jbrowse/core/util/rxjs"(exports, module) {
      module.exports = JBrowseExports["@jbrowse/core/util/rxjs"];
    }
  });

  // src/index.ts
  var index_exports = {};
  __export(index_exports, {
    default: () => PopgenHubPlugin
  });
  var import_Plugin = __toESM(require_Plugin());
  var import_AdapterType = __toESM(require_AdapterType());

  // src/PopgenHubAdapter.ts
  var import_configuration = __toESM(require_configuration());
  var import_BaseAdapter = __toESM(require_BaseAdapter());
  var import_util = __toESM(require_util());
  var import_rxjs = __toESM(require_rxjs());
  var configSchema = (0, import_configuration.ConfigurationSchema)(
    "PopgenHubAdapter",
    {
      baseUrl: {
        type: "string",
        defaultValue: "",
        description: "URL of a running `popgen-hub serve` (e.g. http://127.0.0.1:8000/); relative URLs resolve against the page"
      },
      model: {
        type: "string",
        defaultValue: "",
        description: "model name, as /api/models lists it"
      },
      label: {
        type: "string",
        defaultValue: "",
        description: "class label whose probability is the score; empty: the primary value"
      },
      probability: {
        type: "boolean",
        defaultValue: true,
        description: "the model's outputs are class probabilities (false: a regression's values)"
      }
    },
    { explicitlyTyped: true }
  );
  var PopgenHubAdapter = class extends import_BaseAdapter.BaseFeatureDataAdapter {
    get base() {
      const configured = (0, import_configuration.readConfObject)(this.config, "baseUrl");
      return new URL(configured || ".", globalThis.location?.href).href;
    }
    url(path, query = {}) {
      const url = new URL(path, this.base.endsWith("/") ? this.base : `${this.base}/`);
      for (const [key, value] of Object.entries(query)) {
        url.searchParams.set(key, String(value));
      }
      return url.href;
    }
    async request(url) {
      const response = await fetch(url);
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(`popgen-hub: ${body.error ?? `HTTP ${response.status} from ${url}`}`);
      }
      return response;
    }
    /** The contigs the server knows: the first column of its /chrom.sizes. */
    async getRefNames() {
      const text = await (await this.request(this.url("chrom.sizes"))).text();
      return text.split("\n").map((line) => line.split("	")[0]).filter((name) => name.length > 0);
    }
    getFeatures(region, opts = {}) {
      return (0, import_rxjs.ObservableCreate)(async (observer) => {
        const model = (0, import_configuration.readConfObject)(this.config, "model");
        const label = (0, import_configuration.readConfObject)(this.config, "label");
        const probability = (0, import_configuration.readConfObject)(this.config, "probability");
        const url = this.url("api/scores", {
          model,
          chr: region.refName,
          start: Math.max(0, Math.floor(region.start)),
          end: Math.ceil(region.end)
        });
        const { features } = await (await this.request(url)).json();
        for (const f of features) {
          const score = label ? f.values[label] : f.value;
          if (score === null || score === void 0) {
            continue;
          }
          observer.next(
            new import_util.SimpleFeature({
              uniqueId: `${model}:${f.chr}:${f.start}`,
              refName: region.refName,
              start: f.start,
              end: f.end,
              score,
              p_value: f.p_value,
              flag: f.flag,
              ...Object.fromEntries(
                Object.entries(f.values).map(([name, p]) => [
                  probability ? `P(${name})` : name,
                  p
                ])
              )
            })
          );
        }
        observer.complete();
      }, opts.stopToken);
    }
  };

  // src/index.ts
  var PopgenHubPlugin = class extends import_Plugin.default {
    constructor() {
      super(...arguments);
      this.name = "PopgenHubPlugin";
      this.version = "0.1.0";
    }
    install(pluginManager) {
      pluginManager.addAdapterType(
        () => new import_AdapterType.default({
          name: "PopgenHubAdapter",
          displayName: "popgen-hub on-demand scores",
          configSchema,
          AdapterClass: PopgenHubAdapter
        })
      );
    }
  };
  return __toCommonJS(index_exports);
})();
