/**
 * A feature adapter over `popgen-hub serve`: getFeatures(region) asks
 * `BASE/api/scores?model=M&chr=C&start=S&end=E` (0-based, half-open, as JBrowse's regions are)
 * and emits one feature per window bin, its `score` the model's primary value (or, with
 * `label`, P(label)), so that the wiggle displays draw it. A regression's values
 * (`probability` false) are named as they are, not P(...).
 */
import { ConfigurationSchema, readConfObject } from '@jbrowse/core/configuration'
import { BaseFeatureDataAdapter } from '@jbrowse/core/data_adapters/BaseAdapter'
import type { BaseOptions } from '@jbrowse/core/data_adapters/BaseAdapter'
import { SimpleFeature } from '@jbrowse/core/util'
import type { Feature, Region } from '@jbrowse/core/util'
import { ObservableCreate } from '@jbrowse/core/util/rxjs'

export const configSchema = ConfigurationSchema(
  'PopgenHubAdapter',
  {
    baseUrl: {
      type: 'string',
      defaultValue: '',
      description:
        'URL of a running `popgen-hub serve` (e.g. http://127.0.0.1:8000/); relative ' +
        'URLs resolve against the page',
    },
    model: {
      type: 'string',
      defaultValue: '',
      description: 'model name, as /api/models lists it',
    },
    label: {
      type: 'string',
      defaultValue: '',
      description: 'class label whose probability is the score; empty: the primary value',
    },
    probability: {
      type: 'boolean',
      defaultValue: true,
      description: "the model's outputs are class probabilities (false: a regression's values)",
    },
  },
  { explicitlyTyped: true },
)

/** One window of /api/scores (bin coordinates, 0-based half-open). */
interface ScoreFeature {
  chr: string
  start: number
  end: number
  value: number | null
  values: Record<string, number | null>
  p_value: number | null
  flag: string
}

export default class PopgenHubAdapter extends BaseFeatureDataAdapter {
  private get base(): string {
    const configured = readConfObject(this.config, 'baseUrl') as string
    return new URL(configured || '.', globalThis.location?.href).href
  }

  private url(path: string, query: Record<string, string | number> = {}): string {
    const url = new URL(path, this.base.endsWith('/') ? this.base : `${this.base}/`)
    for (const [key, value] of Object.entries(query)) {
      url.searchParams.set(key, String(value))
    }
    return url.href
  }

  private async request(url: string): Promise<Response> {
    const response = await fetch(url)
    if (!response.ok) {
      // the server answers {"error": "one line naming what to change"}
      const body = (await response.json().catch(() => ({}))) as { error?: string }
      throw new Error(`popgen-hub: ${body.error ?? `HTTP ${response.status} from ${url}`}`)
    }
    return response
  }

  /** The contigs the server knows: the first column of its /chrom.sizes. */
  async getRefNames(): Promise<string[]> {
    const text = await (await this.request(this.url('chrom.sizes'))).text()
    return text
      .split('\n')
      .map(line => line.split('\t')[0]!)
      .filter(name => name.length > 0)
  }

  getFeatures(region: Region, opts: BaseOptions = {}) {
    return ObservableCreate<Feature>(async observer => {
      const model = readConfObject(this.config, 'model') as string
      const label = readConfObject(this.config, 'label') as string
      const probability = readConfObject(this.config, 'probability') as boolean
      const url = this.url('api/scores', {
        model,
        chr: region.refName,
        start: Math.max(0, Math.floor(region.start)),
        end: Math.ceil(region.end),
      })
      const { features } = (await (await this.request(url)).json()) as {
        features: ScoreFeature[]
      }
      for (const f of features) {
        const score = label ? f.values[label] : f.value
        if (score === null || score === undefined) {
          continue // an unscored window: a gap, not a zero
        }
        observer.next(
          new SimpleFeature({
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
                p,
              ]),
            ),
          }),
        )
      }
      observer.complete()
    }, opts.stopToken)
  }
}
