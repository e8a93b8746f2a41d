import type { ApiError } from '../api';

/** An API error as the API said it: message, stable code and the offending field. */
export function ErrorBox({ error }: { error: ApiError | null | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{error.message}</strong>
      {error.field ? (
        <span className="error-field">
          {' '}
          field <code>{error.field}</code>
        </span>
      ) : null}
      <span className="error-code">
        {' '}
        ({error.status ? `${error.status} ` : ''}
        {error.code})
      </span>
    </div>
  );
}
