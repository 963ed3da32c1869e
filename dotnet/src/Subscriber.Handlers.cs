using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld
{
    /// <summary>Running the handler: one task per message, settled by its outcome.</summary>
    public sealed partial class Subscriber
    {
        internal void Dispatch(ConsumerSocket from, IsmlMessage msg)
        {
            // Stopped: a message that arrives while the socket closes is not handled (the
            // bus gives it back when the socket is gone).
            lock (gate)
            {
                if (State == SubscriberState.Stopped) return;
            }
            var run = Interlocked.Increment(ref runs);
            var task = Task.Run(() =>
            {
                handling.Value = new KeyValuePair<Subscriber, long>(this, run);
                return RunHandler(from, msg);
            });
            running[run] = task;
            task.ContinueWith(t => running.TryRemove(run, out _), TaskScheduler.Default);
        }

        private async Task RunHandler(ConsumerSocket from, IsmlMessage msg)
        {
            var ok = true;
            try
            {
                var t = handler(msg);
                if (t != null) await t.ConfigureAwait(false);
                if (!msg.Settled) await Quietly(msg.Finish()).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                ok = false;
                OnError(e, from.Partition);
                // Back off first (rdy 0), then requeue: the message must not come straight back.
                foreach (var s in Current()) s.HandlerDone(false);
                if (!msg.Settled) await Quietly(msg.Requeue()).ConfigureAwait(false);
            }
            finally
            {
                from.Forget(msg);
                msg.Abort();
            }
            if (ok)
            {
                foreach (var s in Current()) s.HandlerDone(true);
            }
        }

        private List<ConsumerSocket> Current()
        {
            lock (gate) return sockets.ToList();
        }

        /// <summary>Auto-settling a message that was lost is expected to fail: the server redelivers it.</summary>
        private async Task Quietly(Task settle)
        {
            try
            {
                await settle.ConfigureAwait(false);
            }
            catch (DisconnectedException)
            {
            }
            catch (NotFoundException)
            {
            }
            catch (Exception e)
            {
                OnError(e);
            }
        }
    }
}
