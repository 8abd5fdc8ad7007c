"""A synthetic drive in the Idneo CSV format: plausible, coupled dynamics, clearly not real data.

    python -m apps.model.synthetic --out data/synthetic_drive.csv --seconds 600 --seed 1

Speed follows a sequence of stops, accelerations, cruises and brakings; gear
follows speed; pedal, torque, load and fuel consumption follow the power the
acceleration and the drag need (zero on overrun fuel cut); brake pressure rises
when braking; oil temperature warms up towards ~95 C; fuel level falls with the
fuel burnt (the gauge reports whole litres); oil fill level sloshes with
acceleration; the SCR converter's efficiency rises as the engine warms.
Each sensor gets its own stamp inside the ~1.5 s poll cycle, as in the real logs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from apps.contracts import SENSORS

CYCLE_S = 1.5
REST_PEDAL = 14.5  # the pedal sensor's reading with the foot off (as in the real logs)
GEAR_SPEEDS = (0.5, 15, 28, 42, 58, 75, 95)  # km/h at which gears 1..7 engage
FORMATS = {
    "vehicle_speed": "{:.0f}",
    "time_since_engine_start": "{:.0f}",
    "normed_load_value": "{:.1f}",
    "accelerator_pedal_position": "{:.1f}",
    "engine_torque": "{:.1f}",
    "oil_fill_level": "{:.3f}",
    "engine_oil_temperature": "{:.1f}",
    "fuel_level": "{:.2f}",
    "fuel_consumption": "{:.2f}",
    "brake_pressure": "{:.2f}",
    "engaged_gear": "{:.0f}",
    "scr_efficiency": "{:.5f}",
}


def speed_profile(cycles: int, rng: np.random.Generator) -> np.ndarray:
    """km/h per cycle: targets held for random spans, approached with bounded acceleration."""
    speed = np.zeros(cycles)
    target, hold = 0.0, 0
    for k in range(1, cycles):
        if hold <= 0:
            target = float(
                rng.choice(
                    [0.0, rng.uniform(30, 60), rng.uniform(60, 100), rng.uniform(90, 125)], p=[0.2, 0.3, 0.3, 0.2]
                )
            )
            hold = int(rng.integers(20, 120))
        hold -= 1
        step = np.clip(target - speed[k - 1], -9.0, 5.0)  # km/h per cycle: braking is quicker than accelerating
        speed[k] = max(0.0, speed[k - 1] + 0.35 * step + rng.normal(0, 0.4))
    return speed


def simulate(seconds: float, seed: int) -> dict[str, np.ndarray]:
    if seconds < 10 * CYCLE_S:
        raise ValueError(f"--seconds must be at least {10 * CYCLE_S:.0f}, got {seconds}")
    rng = np.random.default_rng(seed)
    cycles = int(seconds // CYCLE_S)
    time_s = np.arange(cycles) * CYCLE_S
    speed = speed_profile(cycles, rng)
    accel = np.gradient(speed) / CYCLE_S / 3.6  # m/s^2
    gear = np.searchsorted(GEAR_SPEEDS, speed, side="right").astype(float)
    demand = np.clip(0.9 * accel + 0.00004 * speed**2 + 0.05 * (speed > 1), 0, None)  # power need, arbitrary units
    overrun = (accel < -0.15) & (speed > 20)  # coasting in gear: the ECU cuts fuel
    pedal = np.where(overrun | (accel < -0.3), REST_PEDAL, np.clip(REST_PEDAL + 38 * demand, REST_PEDAL, 80))
    pedal = np.maximum(pedal + rng.normal(0, 0.2, cycles) * (pedal > REST_PEDAL), REST_PEDAL)
    torque = np.where(overrun, 0.0, np.clip(30 + 4.8 * (pedal - REST_PEDAL) + rng.normal(0, 3, cycles), 0, 395))
    load = np.clip(100 * torque / 390 + 18 * (~overrun) + rng.normal(0, 1.0, cycles), 0, 100) * (~overrun)
    fuel_rate = np.where(overrun, 0.0, 0.5 + torque * (0.8 + speed / 40) / 40 + rng.normal(0, 0.05, cycles))
    fuel_rate = np.clip(fuel_rate, 0, 30)
    brake = np.where(accel < -0.3, np.clip(-accel * 1.2 + rng.normal(0, 0.05, cycles), 0, 2.5), -0.03)
    oil_temp = 20 + 75 * (1 - np.exp(-time_s / 700)) + 0.03 * np.cumsum(torque) / cycles * 10
    oil_temp += rng.normal(0, 0.2, cycles)
    fuel_burnt = np.cumsum(fuel_rate * CYCLE_S / 3600)
    fuel_level = np.floor(30.6 - fuel_burnt)
    oil_fill = 60 + 6 * accel + 0.02 * speed + rng.normal(0, 0.4, cycles)
    scr = np.clip((oil_temp - 55) / 35, 0, 1) * (0.9 + 0.1 * rng.random(cycles))
    return {
        "vehicle_speed": np.round(speed),
        "time_since_engine_start": np.round(time_s + 30),
        "normed_load_value": load,
        "accelerator_pedal_position": pedal,
        "engine_torque": torque,
        "oil_fill_level": oil_fill,
        "engine_oil_temperature": oil_temp,
        "fuel_level": fuel_level,
        "fuel_consumption": fuel_rate,
        "brake_pressure": brake,
        "engaged_gear": gear,
        "scr_efficiency": scr,
    }


def stamps(cycles: int, rng: np.random.Generator) -> np.ndarray:
    """(cycles, sensors) stamps: the SCR first, then the others in column order, ~0.12 s apart, jittered."""
    base = 0.14 + np.arange(cycles)[:, None] * CYCLE_S
    order = np.array([1 + i for i in range(len(SENSORS) - 1)] + [0], dtype=float)  # column order; SCR polled first
    return np.round(base + order[None, :] * 0.115 + rng.uniform(0, 0.01, (cycles, len(SENSORS))), 2)


def write_csv(values: dict[str, np.ndarray], path: Path, seed: int) -> int:
    cycles = len(next(iter(values.values())))
    when = stamps(cycles, np.random.default_rng(seed + 1))
    header = "," + ",".join(f"STAMP,{sensor.idneo_name}" for sensor in SENSORS) + ","
    units = "," + ",".join(f", {sensor.unit}" for sensor in SENSORS) + ","
    lines = [header, units]
    for k in range(cycles):
        cells = [f"{when[k, j]:.2f},{FORMATS[s.name].format(values[s.name][k])}" for j, s in enumerate(SENSORS)]
        lines.append("," + ",".join(cells) + ",")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n")
    return cycles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.model.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write (Idneo format)")
    parser.add_argument("--seconds", type=float, default=600.0, help="drive length in seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        values = simulate(args.seconds, args.seed)
    except ValueError as error:
        parser.error(str(error))
    rows = write_csv(values, args.out, args.seed)
    print(f"wrote {rows} rows ({args.seconds:.0f} s, seed {args.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
