using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Example.Throttling
{
    /// <summary>
    /// A token-bucket rate limiter keyed by client, with a sliding audit window.
    /// </summary>
    /// <remarks>
    /// Buckets refill continuously at <see cref="RatePerSecond"/> tokens per second up to
    /// <see cref="Capacity"/>. Time comes from an injected clock so tests never sleep.
    /// </remarks>
    public sealed class RateLimiter : IDisposable
    {
        public const int DefaultCapacity = 20;

        private readonly ConcurrentDictionary<string, Bucket> _buckets = new();
        private readonly Func<DateTimeOffset> _clock;
        private readonly SemaphoreSlim _auditLock = new(1, 1);
        private readonly List<AuditEntry> _audit = new();
        private bool _disposed;

        public RateLimiter(double ratePerSecond, int capacity = DefaultCapacity, Func<DateTimeOffset>? clock = null)
        {
            if (ratePerSecond <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(ratePerSecond), "must be positive");
            }
            RatePerSecond = ratePerSecond;
            Capacity = capacity;
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
        }

        public double RatePerSecond { get; }

        public int Capacity { get; }

        public int TrackedClients => _buckets.Count;

        public TimeSpan AuditWindow { get; set; } = TimeSpan.FromMinutes(5);

        public bool TryAcquire(string clientId, int tokens = 1)
        {
            ThrowIfDisposed();
            var now = _clock();
            var bucket = _buckets.GetOrAdd(clientId, _ => new Bucket(Capacity, now));
            lock (bucket)
            {
                Refill(bucket, now);
                if (bucket.Tokens < tokens)
                {
                    return false;
                }
                bucket.Tokens -= tokens;
                return true;
            }
        }

        public async Task<bool> AcquireAsync(string clientId, int tokens, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var deadline = _clock() + timeout;
            while (!TryAcquire(clientId, tokens))
            {
                if (_clock() >= deadline)
                {
                    await RecordAsync(clientId, tokens, granted: false, cancellationToken).ConfigureAwait(false);
                    return false;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(1000.0 / RatePerSecond), cancellationToken).ConfigureAwait(false);
            }
            await RecordAsync(clientId, tokens, granted: true, cancellationToken).ConfigureAwait(false);
            return true;
        }

        public IReadOnlyList<AuditEntry> RecentDenials(string? clientId = null)
        {
            var since = _clock() - AuditWindow;
            return _audit
                .Where(e => !e.Granted && e.At >= since)
                .Where(e => clientId is null || e.ClientId == clientId)
                .OrderBy(e => e.At)
                .ToList();
        }

        private void Refill(Bucket bucket, DateTimeOffset now)
        {
            var elapsed = (now - bucket.LastRefill).TotalSeconds;
            if (elapsed <= 0)
            {
                return;
            }
            bucket.Tokens = Math.Min(Capacity, bucket.Tokens + elapsed * RatePerSecond);
            bucket.LastRefill = now;
        }

        private async Task RecordAsync(string clientId, int tokens, bool granted, CancellationToken cancellationToken)
        {
            await _auditLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var now = _clock();
                _audit.Add(new AuditEntry(clientId, tokens, granted, now));
                _audit.RemoveAll(e => e.At < now - AuditWindow);
            }
            finally
            {
                _auditLock.Release();
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(RateLimiter));
            }
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _auditLock.Dispose();
            _disposed = true;
        }

        private sealed class Bucket
        {
            public Bucket(double tokens, DateTimeOffset at)
            {
                Tokens = tokens;
                LastRefill = at;
            }

            public double Tokens { get; set; }

            public DateTimeOffset LastRefill { get; set; }
        }
    }

    public sealed record AuditEntry(string ClientId, int Tokens, bool Granted, DateTimeOffset At);

    public interface IClock
    {
        DateTimeOffset Now { get; }
    }
}
