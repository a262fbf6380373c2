"""Who and what the bureau supervises. One module per area; import models from here."""

from fleet.models.geography import BusLine, BusStop, District, RoadSegment, Zone
from fleet.models.registry import (
    Certificate,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    Terminal,
    Vehicle,
)
from fleet.models.telemetry import (
    IngestSource,
    MeterTrip,
    RideHailingOrder,
    TerminalEventLog,
    VehicleState,
)
from fleet.models.waybills import Waybill, WaybillGoods

__all__ = [
    "BusLine",
    "BusStop",
    "Certificate",
    "District",
    "Driver",
    "DriverVehicleBinding",
    "Enterprise",
    "IngestSource",
    "MeterTrip",
    "RideHailingOrder",
    "RoadSegment",
    "Terminal",
    "TerminalEventLog",
    "Vehicle",
    "VehicleState",
    "Waybill",
    "WaybillGoods",
    "Zone",
]
