r"""Classic selection statistics as genome-browser tracks: STAT.tsv and one BigWig per value
column in OUTDIR, beside a scan's tracks or on their own (see popgen_hub.stats_tracks).

Window statistics (pi, theta_w per bp; tajima_d; h12) are computed in windows of --window bp
every --step bp; site statistics (ihh, ihs, nsl, xpehh, rsb) at every site, as rehh 3 computes
them (REF ancestral, ALT derived; iHS and nSL standardised by derived allele frequency bins of
0.025 over the sites read; XP-EHH and Rsb of the first --population against the second).

examples:
  popgen-hub stats --vcf LCT.vcf.gz --stat pi,tajima_d,h12,ihs -o lct_stats
  popgen-hub stats --vcf 1kg_chr2.vcf.gz --samples panel.tsv --population CEU \
    --population YRI --stat xpehh,rsb --region chr2:134000000-138000000 -o chr2_stats
  popgen-hub scan --vcf LCT.vcf.gz --model imagene_cnn.sweep_hsap_eur --stats pi,ihs -o lct
"""

from __future__ import annotations

import argparse
import time

from . import common

NAME, HELP = "stats", "classic selection statistics (pi, Tajima's D, H12, iHS, XP-EHH, ...) " \
                      "as BigWig tracks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..stats_tracks import DEFAULT_WINDOW, STATISTICS

    common.add_input_options(p)
    p.add_argument("--stat", required=True, metavar="LIST", help=f"comma-separated statistics: "
                   f"{','.join(STATISTICS)}")
    common.add_output(p, "OUTDIR", help="output directory (a scan's folder will do, but its "
                      "browser files list only the statistics of `scan --stats`)")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="window length in bp of "
                   "the window statistics (default %(default)s)")
    p.add_argument("--step", type=int, help="distance between window starts in bp (default: "
                   "the window)")
    p.add_argument("--samples", metavar="TABLE", help="a tab-separated table of the samples, "
                   "with a header: column sample and population")
    p.add_argument("--population", action="append", metavar="NAME", help="read the --samples "
                   "rows of this population; give two for xpehh and rsb (the first against "
                   "the second)")
    p.add_argument("--to-ends", action="store_true", help="integrate EHH curves still above "
                   "0.05 at the region's ends up to them instead of giving NA (rehh's "
                   "discard_integration_at_border=FALSE): for regions shorter than the "
                   "haplotypes, such as one gene's")
    p.add_argument("--sample-column", default="sample", help="--samples column of names")
    p.add_argument("--population-column", default="population",
                   help="--samples column of populations")


def run(args: argparse.Namespace) -> None:
    from ..errors import PopgenHubError
    from ..files import staged_outputs
    from ..readers import open_reader
    from ..readers.samples import read_samples
    from ..scoring import scan_regions
    from ..stats_tracks import (
        compute_statistics,
        contig_lengths,
        parse_statistics,
        populations_of,
        write_statistics,
    )

    names = parse_statistics(args.stat, "--stat")
    step = args.step or args.window
    for option, value in (("--window", args.window), ("--step", step)):
        if value <= 0:
            raise PopgenHubError(f"{option} {value} must be a positive number of bp")
    if step > args.window:
        raise PopgenHubError(f"--step {step} is larger than --window {args.window}: windows "
                             f"would leave gaps; use a step of at most the window")
    if args.population and not args.samples:
        raise PopgenHubError("--population needs --samples TABLE, a table of the samples "
                             f"with a {args.population_column!r} column")
    table = read_samples(args.samples, args.sample_column,
                         population_column=args.population_column) if args.samples else None
    reader = open_reader(common.scan_input(args, table))
    groups = populations_of(table, args.population or [], names, reader)
    regions = scan_regions(reader, args.region, 1)
    started = time.perf_counter()
    tables = compute_statistics(reader, names, regions, groups=groups, window=args.window,
                                step=step, progress=not args.quiet, to_ends=args.to_ends)
    seconds = time.perf_counter() - started
    header = {"input": str(reader.path), "regions": ", ".join(map(str, regions)),
              "populations": "; ".join(label for label, _ in groups),
              "window_bp": str(args.window), "step_bp": str(step),
              "ehh": "as rehh 3 scan_hh: REF ancestral, ALT derived, curves down to 0.05, "
                     + ("integrated up to the region's ends" if args.to_ends else
                        "NA where a curve reaches the region's ends"),
              "command": args.invocation}
    with staged_outputs(args.output, args.invocation) as staging:
        write_statistics(tables, staging, contig_lengths(reader, tables), header)
        written = [staging.final(name) for name in staging.names]
    print(f"computed {', '.join(names)} over {', '.join(map(str, regions))} of "
          f"{reader.path.name} in {seconds:.1f} s ({'; '.join(label for label, _ in groups)})")
    print("wrote:")
    for path in written:
        print(f"  {path}")
