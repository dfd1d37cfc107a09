"""What runner knows about the API: model files, the endpoint registry, and prices."""

from runner.catalog.endpoints import ENDPOINTS, EndpointInfo, MediaKind, OutputKind
from runner.catalog.models import ModelInfo, catalog, schema_dir
from runner.catalog.pricing import CREDIT_USD, Cost, cost_of, load_prices

__all__ = ["CREDIT_USD", "ENDPOINTS", "Cost", "EndpointInfo", "MediaKind", "ModelInfo", "OutputKind", "catalog",
           "cost_of", "load_prices", "schema_dir"]
