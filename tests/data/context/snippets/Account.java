package bank;

import java.math.BigDecimal;

public class Account {
    private BigDecimal balance = BigDecimal.ZERO;

    public Account(BigDecimal opening) {
        this.balance = opening;
    }

    public void deposit(BigDecimal amount) {
        balance = balance.add(amount);
        Audit.record("deposit", amount);
    }
}
