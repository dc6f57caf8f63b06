from services.core.bus import BusBase
from services.core.migrate import run_env
from services.identity.models import Base

run_env([Base.metadata, BusBase.metadata])
