import React, { useCallback, useEffect, useMemo, useReducer, useState } from "react";
import type { ReactNode } from "react";
import { formatCurrency, formatDate } from "../lib/format";
import { fetchOrders, type Order, type OrderStatus } from "../api/orders";

export const PAGE_SIZE = 25;

const STATUS_LABELS: Record<OrderStatus, string> = {
  pending: "Pending",
  paid: "Paid",
  shipped: "Shipped",
  refunded: "Refunded",
};

export interface OrderTableProps {
  customerId?: string;
  initialStatus?: OrderStatus | "all";
  onSelect?: (order: Order) => void;
  emptyState?: ReactNode;
}

type SortKey = "createdAt" | "total" | "status";

interface State {
  sortKey: SortKey;
  descending: boolean;
  page: number;
  status: OrderStatus | "all";
}

type Action =
  | { type: "sort"; key: SortKey }
  | { type: "page"; page: number }
  | { type: "status"; status: OrderStatus | "all" };

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case "sort":
      if (state.sortKey === action.key) {
        return { ...state, descending: !state.descending };
      }
      return { ...state, sortKey: action.key, descending: true, page: 0 };
    case "page":
      return { ...state, page: Math.max(0, action.page) };
    case "status":
      return { ...state, status: action.status, page: 0 };
  }
}

function compareOrders(a: Order, b: Order, key: SortKey): number {
  switch (key) {
    case "createdAt":
      return a.createdAt.localeCompare(b.createdAt);
    case "total":
      return a.totalCents - b.totalCents;
    case "status":
      return STATUS_LABELS[a.status].localeCompare(STATUS_LABELS[b.status]);
  }
}

export function useOrders(customerId?: string) {
  const [orders, setOrders] = useState<Order[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    fetchOrders({ customerId })
      .then((result) => {
        if (!cancelled) {
          setOrders(result);
          setError(null);
        }
      })
      .catch((err: Error) => {
        if (!cancelled) {
          setError(err);
        }
      })
      .finally(() => {
        if (!cancelled) {
          setLoading(false);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [customerId]);

  return { orders, error, loading };
}

const SortHeader = ({
  label,
  sortKey,
  state,
  dispatch,
}: {
  label: string;
  sortKey: SortKey;
  state: State;
  dispatch: React.Dispatch<Action>;
}) => {
  const active = state.sortKey === sortKey;
  const arrow = active ? (state.descending ? "▼" : "▲") : "";
  return (
    <th
      scope="col"
      aria-sort={active ? (state.descending ? "descending" : "ascending") : "none"}
      onClick={() => dispatch({ type: "sort", key: sortKey })}
    >
      {label} {arrow}
    </th>
  );
};

export default function OrderTable({
  customerId,
  initialStatus = "all",
  onSelect,
  emptyState = <p>No orders yet.</p>,
}: OrderTableProps) {
  const { orders, error, loading } = useOrders(customerId);
  const [state, dispatch] = useReducer(reducer, {
    sortKey: "createdAt",
    descending: true,
    page: 0,
    status: initialStatus,
  });

  const visible = useMemo(() => {
    const filtered = state.status === "all" ? orders : orders.filter((o) => o.status === state.status);
    const sorted = [...filtered].sort((a, b) => compareOrders(a, b, state.sortKey));
    if (state.descending) {
      sorted.reverse();
    }
    return sorted.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  }, [orders, state]);

  const handleRowClick = useCallback(
    (order: Order) => {
      if (onSelect) {
        onSelect(order);
      }
    },
    [onSelect],
  );

  if (loading) {
    return <div className="spinner" role="status" />;
  }
  if (error) {
    return <div className="error">Could not load orders: {error.message}</div>;
  }
  if (visible.length === 0) {
    return <>{emptyState}</>;
  }

  return (
    <table className="orders">
      <thead>
        <tr>
          <SortHeader label="Date" sortKey="createdAt" state={state} dispatch={dispatch} />
          <SortHeader label="Total" sortKey="total" state={state} dispatch={dispatch} />
          <SortHeader label="Status" sortKey="status" state={state} dispatch={dispatch} />
        </tr>
      </thead>
      <tbody>
        {visible.map((order) => (
          <tr key={order.id} onClick={() => handleRowClick(order)}>
            <td>{formatDate(order.createdAt)}</td>
            <td>{formatCurrency(order.totalCents, order.currency)}</td>
            <td>{STATUS_LABELS[order.status]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
