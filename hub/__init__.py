"""popgen-hub: pretrained deep-learning models for population genetics.

>>> import popgen_hub
>>> popgen_hub.list_models("imagene*")
['imagene_cnn.sweep_hsap_african', 'imagene_cnn.sweep_hsap_east_asian',
 'imagene_cnn.sweep_hsap_eur', 'imagene_cnn.sweep_hsap_european', 'imagene_cnn.sweep_hsap_general']
>>> model = popgen_hub.load("imagene_cnn.sweep_hsap_general")  # or "hf-hub:org/repo@revision"
>>> result = model.scan("my.vcf.gz", "scan_out", region="2:135000000-137000000")
>>> popgen_hub.choose_model("my.vcf.gz").name  # the model whose training data fit best
'imagene_cnn.sweep_hsap_general'
"""

from .auto import choose_model
from .errors import PopgenHubError
from .registry import list_models, load
from .version import __version__

__all__ = ["PopgenHubError", "__version__", "choose_model", "list_models", "load"]
