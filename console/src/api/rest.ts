/**
 * The REST API as the console uses it: one fetch with the session's token, errors in the API's
 * one shape (`{error: {code, message}}`) thrown as ApiError. Every path here is in the OpenAPI
 * document at /api/v1/openapi.json.
 */
export const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let token: string | undefined;
export const setToken = (next: string | undefined) => {
  token = next;
};
export const currentToken = () => token;

export const request = async <T>(
  method: string,
  path: string,
  body?: unknown,
  init: { raw?: BodyInit; signal?: AbortSignal } = {},
): Promise<T> => {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path.startsWith('/') ? path : `${API}/${path}`, {
    method,
    headers,
    body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? (response.statusText || 'request failed'),
    );
  }
  return parsed as T;
};

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

/** A route that is not there (yet): its view shows itself as unavailable instead of failing. */
export const isMissingRoute = (error: unknown) =>
  error instanceof ApiError && error.status === 404 && error.code === 'not_found';
