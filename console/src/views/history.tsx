import { useEffect, useState } from 'preact/hooks';
import {
  eventTime,
  readAsOf,
  readHistory,
  type HistoryEvent,
  type Subject,
} from '../api/history.js';
import { ErrorLine, Panel, messageOf } from './common.js';

const KINDS = ['world', 'object', 'user'] as const;

/**
 * Any world's, object's or user's history, and a time slider: at step n the state is read as of
 * the n-th event's position (`?at=`), as the server folds it.
 */
export const HistoryView = ({ kind, id }: { kind?: string; id?: string }) => {
  const [subjectKind, setKind] = useState<Subject['kind']>(
    KINDS.includes(kind as Subject['kind']) ? (kind as Subject['kind']) : 'world',
  );
  const [subjectId, setId] = useState(id ?? '');
  const subject: Subject | undefined =
    kind && id && KINDS.includes(kind as Subject['kind'])
      ? { kind: kind as Subject['kind'], id }
      : undefined;
  return (
    <div class="stack">
      <Panel title="History">
        <form
          class="inline"
          onSubmit={(submit) => {
            submit.preventDefault();
            location.hash = `#/history/${subjectKind}/${subjectId.trim()}`;
          }}
        >
          <label>
            Of a
            <select
              value={subjectKind}
              onChange={(e) => setKind(e.currentTarget.value as Subject['kind'])}
            >
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <label>
            Id
            <input
              required
              value={subjectId}
              onInput={(e) => setId(e.currentTarget.value)}
              size={38}
            />
          </label>
          <button type="submit">Show</button>
        </form>
      </Panel>
      {subject && <Timeline key={`${subject.kind}-${subject.id}`} subject={subject} />}
    </div>
  );
};

const Timeline = ({ subject }: { subject: Subject }) => {
  const [events, setEvents] = useState<HistoryEvent[] | undefined>();
  const [unavailable, setUnavailable] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [step, setStep] = useState(0);
  const [state, setState] = useState<Record<string, unknown> | string | undefined>();

  useEffect(() => {
    readHistory(subject).then(
      (answer) => {
        if (!answer.available) return setUnavailable(answer.reason);
        setEvents(answer.value);
        setStep(Math.max(0, answer.value.length - 1));
      },
      (failure) => setError(messageOf(failure)),
    );
  }, [subject.kind, subject.id]);

  const at = events?.[step];
  useEffect(() => {
    if (!at) return;
    setState(undefined);
    // Stepping quickly sends several reads; only the answer for the step shown may show.
    let current = true;
    readAsOf(subject, at.position).then(
      (answer) => current && setState(answer.available ? answer.value : answer.reason),
      (failure) => current && setState(messageOf(failure)),
    );
    return () => {
      current = false;
    };
  }, [at?.position]);

  if (unavailable)
    return (
      <Panel title="Events">
        <p data-testid="history-unavailable">History is not available: {unavailable}.</p>
      </Panel>
    );
  return (
    <>
      <ErrorLine error={error} />
      {events === undefined ? (
        <p>Loading…</p>
      ) : events.length === 0 ? (
        <p>No events.</p>
      ) : (
        <>
          <Panel title="State as of">
            <label class="slider">
              Event {step + 1} of {events.length}
              <input
                type="range"
                min={0}
                max={events.length - 1}
                value={step}
                data-testid="time-slider"
                aria-valuetext={at ? `${at.type} at ${eventTime(at)}` : undefined}
                onInput={(e) => setStep(Number(e.currentTarget.value))}
              />
            </label>
            <p>
              {at?.type} · <code>{at?.position}</code> · {at ? eventTime(at) : ''}
            </p>
            {state === undefined ? (
              <p>Loading…</p>
            ) : typeof state === 'string' ? (
              <p data-testid="as-of-unavailable">{state}</p>
            ) : (
              <pre data-testid="as-of">{JSON.stringify(state, null, 2)}</pre>
            )}
          </Panel>
          <Panel title="Events">
            <ol class="events" data-testid="history">
              {events.map((event, index) => (
                <li key={event.position} class={index === step ? 'current' : undefined}>
                  <button type="button" class="link" onClick={() => setStep(index)}>
                    {event.type}
                  </button>{' '}
                  <span class="muted">
                    {eventTime(event)} · <code>{event.position}</code>
                  </span>
                  <code class="data">{JSON.stringify(event.data)}</code>
                </li>
              ))}
            </ol>
          </Panel>
        </>
      )}
    </>
  );
};
