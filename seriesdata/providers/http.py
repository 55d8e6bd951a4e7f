"""One HTTP mechanism for every provider: rate limit, retries with back-off, error classification.

`Api.get_json` is the only way providers talk to the network. It waits for the rate limiter, sends the
request on a shared `httpx.Client`, retries timeouts, connection errors, 5xx (JSON or HTML) and 429
(honouring `Retry-After`), and turns the final answer into JSON or into one of our error classes. It
branches on status codes only, never on message text.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from seriesdata import __version__
from seriesdata.errors import AuthError, Interrupted, ItemError, NotFound, ProviderUnavailable, RateLimited
from seriesdata.ratelimit import MAX_COOLDOWN_WAIT, RateLimiter

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
RATE_LIMITED = "rate limited (HTTP 429)"
USER_AGENT = f"seriesdata/{__version__} (+https://github.com/seriesdata/seriesdata)"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # total tries per request, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time, with full jitter
    max_backoff: float = 30.0
    max_retry_after: float = MAX_COOLDOWN_WAIT  # a longer Retry-After gives up (and cools down)

    def delay(self, retry: int) -> float:
        return random.uniform(self.backoff / 2, min(self.max_backoff, self.backoff * 2**retry))


def make_client(base_url: str, timeout: float, connections: int = 8) -> httpx.Client:
    """The one client all worker threads share (httpx.Client is thread-safe, and keeps connections).

    `connections` should be the number of worker threads: with fewer pooled connections the extra
    threads queue for one, and with fewer kept alive each request past them opens a new connection.
    """
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,  # Api.send follows them, so every hop is counted and rate-limited
        limits=httpx.Limits(max_keepalive_connections=connections, max_connections=connections),
    )


class Api:
    def __init__(
        self,
        client: httpx.Client,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        stop: threading.Event | None = None,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.stop = stop or threading.Event()
        self.redact = redact
        self._count = 0
        self._count_lock = threading.Lock()

    @property
    def requests(self) -> int:
        return self._count

    def get_json(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = self.send("GET", path, params=params, **kwargs)
        return self.decode(response)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries, following redirects. Returns a response below 300; raises for the rest."""
        url: str | httpx.URL = path
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_once(method, url, **kwargs)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return response
            url = response.url.join(location)  # TVmaze's lookup answers 301 to the show
            method = "GET" if response.status_code == 303 else method
        raise ItemError(f"too many redirects for {self.redact(str(path))}")

    def _send_once(self, method: str, path: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        last_problem = "no attempt made"
        for attempt in range(self.retry.attempts):
            if attempt:
                self._pause(self.retry.delay(attempt - 1))
            elif self.stop.is_set():  # stopping (signal or aborted run): send nothing new
                raise Interrupted("interrupted")
            ticket = self.limiter.acquire(self.stop)
            with self._count_lock:
                self._count += 1
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                last_problem = "timed out"
                continue
            except httpx.TransportError as error:
                last_problem = f"connection failed ({type(error).__name__})"
                continue
            except httpx.HTTPError as error:  # invalid URL, undecodable body, ...
                raise ItemError(f"request failed: {type(error).__name__}") from None
            finally:
                self.limiter.done(ticket)  # the server has seen it by now, however slow it was
            status = response.status_code
            if status == 429:
                wait = retry_after(response)
                last_problem = RATE_LIMITED
                if wait is not None and wait > self.retry.max_retry_after:
                    self.limiter.cool_down(wait)
                    break
                self.limiter.cool_down(wait if wait is not None else self.retry.delay(attempt) + 2)
                continue
            if status >= 500:
                last_problem = f"HTTP {status} from {self._where(response)}"
                continue
            if status == 401:
                raise AuthError(f"{self._where(response)} refused the credentials (HTTP 401)")
            if status == 404:
                raise NotFound(f"not found upstream (HTTP 404 for {self._where(response)})")
            if status >= 400:
                raise ItemError(f"HTTP {status} for {self._where(response)}{self._reason(response)}")
            return response
        unavailable = RateLimited if last_problem == RATE_LIMITED else ProviderUnavailable
        raise unavailable(
            f"{self.client.base_url.host} unavailable: {last_problem} after {self.retry.attempts} attempts"
        )

    def decode(self, response: httpx.Response) -> Any:
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            problem = (
                "invalid JSON body"
                if kind.endswith("json")
                else f"expected JSON, got {kind or 'no content type'}"
            )
            raise ItemError(f"malformed response from {self._where(response)}: {problem}") from None

    def _pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted("interrupted")

    def _where(self, response: httpx.Response) -> str:
        return self.redact(response.request.url.path)

    def _reason(self, response: httpx.Response) -> str:
        """The API's own message, if it sent one, redacted and cut short."""
        try:
            message = json.loads(response.content).get("message")
        except Exception:
            return ""
        if not isinstance(message, str) or not message:
            return ""
        return f": {self.redact(message)[:200]}"


def retry_after(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
