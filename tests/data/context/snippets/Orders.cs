using System.Collections.Generic;

namespace Shop
{
    public class OrderBook
    {
        private readonly List<Order> orders = new List<Order>();

        public int Count { get; }

        public void Place(Order order)
        {
            orders.Add(order);
            Notify(order);
        }

        private static void Notify(Order order) { }
    }
}
