r"""Each sample's coordinates on a 2-D map of population structure, from a variational
autoencoder: OUTDIR/embedding.tsv (sample, population when --samples gives one, latent means
z1, z2 and their standard deviations z1_sd, z2_sd) and OUTDIR/embedding.png (a scatter plot
coloured by population; matplotlib, the explain extra).

By default the bundled pretrained encoder (vae.embed_hsap, onnxruntime only) reads each
sample's scores on the first principal axes of the region's standardised genotypes, so it
needs no training and reads any SNPs (see popgen_hub.embed). --fit fits a VAE to the data
itself as popvae does (Battey, Coffing & Kern 2021; the train extra): each sample's dosages at
up to --max-snps SNPs drawn at random, 20 % of the samples held out for early stopping.
The VCF is streamed block by block over the region (default: every contig with records).

examples:
  popgen-hub embed --vcf cohort.vcf.gz --samples panel.tsv --region 1:1-5000000 -o embed_out
  popgen-hub embed --vcf cohort.vcf.gz --samples panel.tsv --fit --seed 1 \
    --save-model my_vae -o embed_fit
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from . import common

if TYPE_CHECKING:
    from ..embed import Embedding, ReadGenotypes

NAME, HELP = "embed", "per-sample latent coordinates of a VAE (TSV) and a scatter plot"
#: fewer SNPs than this make a VAE input too thin to learn from
MIN_FIT_SNPS = 100


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..embed import DEFAULT_MODEL

    p.add_argument("--vcf", required=True, help="bgzipped+indexed VCF or indexed BCF of "
                   "diploid genotype calls (GT)")
    p.add_argument("--region", help="chr:start-end (1-based, inclusive) or a contig; default: "
                   "every contig with records")
    p.add_argument("--samples", metavar="TABLE", help="a tab-separated table with a header: "
                   "column sample (the individuals to embed; default: all) and optionally "
                   "population (colours the plot, a column of the TSV)")
    p.add_argument("--sample-column", default="sample", help="--samples column of names")
    p.add_argument("--population-column", default="population",
                   help="--samples column of populations")
    common.add_output(p, "OUTDIR", help="output directory: embedding.tsv, embedding.png")
    p.add_argument("--model", default=DEFAULT_MODEL, help="the pretrained embedding model "
                   "(default %(default)s); " + common.MODEL_HELP)
    fit = p.add_argument_group("fitting a VAE to the data (--fit, the train extra)")
    fit.add_argument("--fit", action="store_true", help="fit a VAE to these genotypes "
                     "(popvae's recipe) instead of the pretrained encoder")
    fit.add_argument("--latent", type=int, default=2, help="latent dimensions (default 2)")
    fit.add_argument("--max-snps", type=int, default=10_000, help="SNPs drawn at random as the "
                     "VAE's input (default %(default)s, popvae's)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the SNP draw, the held-out "
                     "samples and the training (default 0)")
    fit.add_argument("--save-model", metavar="DIR", help="also write the fitted encoder: "
                     "DIR/model.onnx (input: dosages at DIR/sites.tsv), parity-checked")


def run(args: argparse.Namespace) -> None:
    from ..embed import (
        DEFAULT_MODEL,
        Embedding,
        check_embedding_model,
        embed_pretrained,
        open_input,
        read_genotypes,
        write_embedding,
    )
    from ..encoders import PcaScores
    from ..errors import PopgenHubError
    from ..readers.samples import read_samples
    from ..registry import load

    if args.fit:
        common.require_train_extra()
    elif args.save_model:
        raise PopgenHubError("--save-model writes the VAE that --fit trains; add --fit")
    if args.fit and args.model != DEFAULT_MODEL:
        raise PopgenHubError("--model names a pretrained encoder, which --fit does not use; "
                             "give one or the other")
    for option, value, least in (("--latent", args.latent, 1), ("--max-snps", args.max_snps,
                                                                MIN_FIT_SNPS)):
        if value < least:
            raise PopgenHubError(f"{option} {value} must be at least {least}")
    common.require_explain_extra()
    table = read_samples(args.samples, args.sample_column,
                         population_column=args.population_column) if args.samples else None
    model = None if args.fit else check_embedding_model(load(args.model, device="cpu"),
                                                        args.model)
    encoder = PcaScores() if model is None else model.encoder
    reader, regions, selection = open_input(args.vcf, table, args.region)
    read = read_genotypes(reader, regions, selection, encoder, seed=args.seed,
                          max_snps=args.max_snps if args.fit else 0)
    header = {"input": str(reader.path), "regions": ", ".join(map(str, regions)),
              "samples": str(len(read.samples)),
              "snps": f"{read.gram.n_snps} with minor-allele frequency >= {encoder.min_maf}",
              "command": args.invocation}
    if args.fit:
        embedding = _fit(args, read, header)
    else:
        header["method"] = f"{model.contract.name}: principal-axis scores -> VAE encoder"
        embedding = embed_pretrained(model, read, header)
    if table is not None and table.populations:
        embedding = Embedding(embedding.samples, embedding.mean, embedding.sd,
                              embedding.header, table.populations)
    written = write_embedding(embedding, args.output, args.invocation)
    print(f"embedded {len(read.samples)} samples from {header['snps']} in "
          f"{header['regions']} of {reader.path.name} ({header['method']})")
    print("wrote:")
    for path in written:
        print(f"  {path}")


def _fit(args: argparse.Namespace, read: ReadGenotypes, header: dict[str, str]) -> Embedding:
    """popvae on the SNPs drawn; the encoder written to --save-model when asked."""
    import numpy as np

    from ..embed import Embedding
    from ..embed.train import export_fitted
    from ..files import staged_outputs
    from ..models.vae import embed_with, fit_popvae

    fitted = fit_popvae(read.subset, seed=args.seed, latent=args.latent)
    mean, sd = embed_with(fitted.vae, read.subset)
    header["method"] = (f"VAE fitted to {read.subset.shape[1]} SNPs (popvae's recipe; best "
                        f"epoch {fitted.best_epoch} of {fitted.epochs}, seed {args.seed})")
    if args.save_model:
        with staged_outputs(args.save_model, args.invocation) as staging:
            worst = export_fitted(fitted.vae, read.subset, staging.path("model.onnx"))
            staging.path("sites.tsv").write_text("contig\tposition\n" + "".join(
                f"{contig}\t{position + 1}\n" for contig, position in read.subset_sites))
        header["saved_model"] = (f"{args.save_model}/model.onnx (onnxruntime matches torch "
                                 f"within {worst:.1e}; input: ALT dosage / ploidy at the "
                                 f"sites.tsv positions, missing at the site's mean)")
    return Embedding(read.samples, np.asarray(mean), np.asarray(sd), header)
