/**
 * popgen-hub's JBrowse 2 plugin: registers PopgenHubAdapter, which reads the scores
 * `popgen-hub serve` computes on demand (/api/scores) for the region in view, so that a
 * QuantitativeTrack shows a network's score without a scan.
 *
 * Built into one UMD file (build.mjs) that takes react, mobx and @jbrowse/core from the host
 * JBrowse (`JBrowseExports`); loaded by `"plugins": [{"name": "PopgenHub", "url": ...}]`.
 */
import Plugin from '@jbrowse/core/Plugin'
import AdapterType from '@jbrowse/core/pluggableElementTypes/AdapterType'
import type PluginManager from '@jbrowse/core/PluginManager'

import PopgenHubAdapter, { configSchema } from './PopgenHubAdapter'

export default class PopgenHubPlugin extends Plugin {
  name = 'PopgenHubPlugin'
  version = '0.1.0'

  install(pluginManager: PluginManager) {
    pluginManager.addAdapterType(
      () =>
        new AdapterType({
          name: 'PopgenHubAdapter',
          displayName: 'popgen-hub on-demand scores',
          configSchema,
          AdapterClass: PopgenHubAdapter,
        }),
    )
  }
}
