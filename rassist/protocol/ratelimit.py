"""A token bucket that takes the time as an argument, so it is testable without clocks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; the caller passes the time."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.tokens = self.burst

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; a clock going backwards refills nothing."""
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        if self.stamp is None or now > self.stamp:
            self.stamp = now
        if cost <= self.tokens + 1e-9:  # refills summed from float gaps fall a hair short
            self.tokens = max(0.0, self.tokens - cost)
            return True
        return False
