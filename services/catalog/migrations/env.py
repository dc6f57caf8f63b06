from services.catalog.models import Base
from services.core.bus import BusBase
from services.core.migrate import run_env

run_env([Base.metadata, BusBase.metadata])
