"""Who and what the bureau supervises. One module per area; import models from here."""

from fleet.models.geography import BusLine, BusStop, CoachLine, District, RoadSegment, Zone
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
    "CoachLine",
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
